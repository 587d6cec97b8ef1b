"""KServe's Python model server (PyPI kserve) serving an ONNX model with onnxruntime: the server a
user would pick instead of modelship serve, for bench/serving.ts. It speaks the same Open
Inference Protocol (v2 REST, JSON and binary tensors) on --port, one uvicorn worker, no gRPC.

usage: python kserve_server.py --port P --model-name NAME --model-path FILE.onnx
"""
import argparse
import logging
import uuid

import numpy as np
import onnxruntime as ort
from kserve import InferOutput, InferRequest, InferResponse, Model, ModelServer

ONNX_TO_OIP = {"tensor(float)": "FP32", "tensor(double)": "FP64", "tensor(int64)": "INT64", "tensor(int32)": "INT32"}


class OnnxModel(Model):
    def __init__(self, name: str, path: str):
        super().__init__(name)
        self.path = path
        self.load()

    def load(self) -> bool:
        self.session = ort.InferenceSession(self.path, providers=["CPUExecutionProvider"])
        self.outputs = [(o.name, ONNX_TO_OIP.get(o.type, "FP32")) for o in self.session.get_outputs()]
        self.ready = True
        return self.ready

    def predict(self, payload: InferRequest, headers=None, response_headers=None) -> InferResponse:
        feeds = {i.name: i.as_numpy() for i in payload.inputs}
        results = self.session.run(None, feeds)
        binary = payload.use_binary_outputs
        outputs = []
        for (name, datatype), array in zip(self.outputs, results):
            out = InferOutput(name=name, shape=list(array.shape), datatype=datatype)
            out.set_data_from_numpy(np.asarray(array), binary_data=binary)
            outputs.append(out)
        return InferResponse(model_name=self.name, infer_outputs=outputs, response_id=payload.id or str(uuid.uuid4()), use_binary_outputs=binary)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--model-name", required=True)
    parser.add_argument("--model-path", required=True)
    args, _ = parser.parse_known_args()
    model = OnnxModel(args.model_name, args.model_path)
    # Per-request access and latency logs off: modelship serve and the bare server log nothing per request either.
    logging.getLogger("uvicorn.access").disabled = True
    ModelServer(http_port=args.port, workers=1, enable_grpc=False, enable_latency_logging=False).start([model])


if __name__ == "__main__":
    main()
