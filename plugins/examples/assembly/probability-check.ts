// An example release check (a smoke plugin): every output row must be a probability
// distribution: values in [0, 1] that sum to 1 within 1e-3. It reads the JSON the smoke stage
// sends ({ model, inputs, outputs: [{ name, type, dims, data }] }) and answers
// { "passed": bool, "message": string }. Real checks would be written the same way, in any
// language with an Extism PDK.
import { Host } from '@extism/as-pdk';
import './abort';

/** The numbers of the JSON array that starts after `key` at or after `from`, and where it ends. */
function numbersAfter(json: string, key: string, from: i32): Array<f64> {
  const out = new Array<f64>();
  let i = json.indexOf(key, from);
  if (i < 0) return out;
  i = json.indexOf('[', i) + 1;
  let start = i;
  for (; i < json.length; i++) {
    const c = json.charCodeAt(i);
    if (c == 44 /* , */ || c == 93 /* ] */) {
      if (i > start) out.push(F64.parseFloat(json.substring(start, i)));
      start = i + 1;
      if (c == 93) break;
    }
  }
  return out;
}

export function check(): i32 {
  const json = Host.inputString();
  const outputs = json.indexOf('"outputs"');
  if (outputs < 0) {
    Host.outputString('{"passed":false,"message":"no outputs in the input"}');
    return 0;
  }
  let message = '';
  let passed = true;
  let at = outputs;
  let checked = 0;
  for (;;) {
    const dimsAt = json.indexOf('"dims"', at);
    if (dimsAt < 0) break;
    const dims = numbersAfter(json, '"dims"', at);
    const data = numbersAfter(json, '"data"', dimsAt);
    at = json.indexOf('"data"', dimsAt) + 6;
    if (dims.length == 0) continue;
    const width = i32(dims[dims.length - 1]);
    if (width <= 0) continue;
    for (let row = 0; row * width < data.length; row++) {
      let sum: f64 = 0;
      for (let k = 0; k < width; k++) {
        const v = data[row * width + k];
        if (v < 0 || v > 1) {
          passed = false;
          message = 'row ' + row.toString() + ' has value ' + v.toString() + ' outside [0, 1]';
        }
        sum += v;
      }
      if (Math.abs(sum - 1) > 1e-3 && passed) {
        passed = false;
        message = 'row ' + row.toString() + ' sums to ' + sum.toString() + ', not 1';
      }
      checked++;
    }
  }
  if (passed) message = checked.toString() + ' output rows are probability distributions';
  Host.outputString('{"passed":' + (passed ? 'true' : 'false') + ',"message":"' + message + '"}');
  return 0;
}
