import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PROJECT_ROOT } from '../paths.js';

/**
 * Exporters are configured on the worker and named by releases. A release can only pick
 * one the worker operator installed: it cannot make the worker run a command of its choosing.
 * Command words may hold {input}, {output} (the ONNX file to write) and {outputDir}.
 */
export interface ExporterSpec {
  readonly command: readonly string[];
  readonly timeoutSeconds: number;
}

export type InstalledExporters = Readonly<Record<string, ExporterSpec>>;

function projectPython(): string {
  if (process.env.MODELSHIP_PYTHON) return process.env.MODELSHIP_PYTHON;
  const venv = join(PROJECT_ROOT, '.venv', 'bin', 'python');
  return existsSync(venv) ? venv : 'python3';
}

export function builtInExporters(): InstalledExporters {
  return {
    sklearn: {
      command: [projectPython(), join(PROJECT_ROOT, 'exporters', 'sklearn_to_onnx.py'), '--input', '{input}', '--output', '{output}'],
      timeoutSeconds: 600,
    },
  };
}

/** Built-ins plus the JSON file named by MODELSHIP_EXPORTERS_FILE ({ "name": { command, timeoutSeconds } }). */
export function loadInstalledExporters(env: NodeJS.ProcessEnv = process.env): InstalledExporters {
  const file = env.MODELSHIP_EXPORTERS_FILE;
  if (!file) return builtInExporters();
  const extra = JSON.parse(readFileSync(file, 'utf8')) as Record<string, Partial<ExporterSpec>>;
  const installed: Record<string, ExporterSpec> = { ...builtInExporters() };
  for (const [name, spec] of Object.entries(extra)) {
    if (!Array.isArray(spec.command) || spec.command.length === 0 || !spec.command.every((w) => typeof w === 'string')) {
      throw new Error(`${file}: exporter ${name} needs a non-empty "command" array of strings`);
    }
    installed[name] = { command: spec.command, timeoutSeconds: spec.timeoutSeconds ?? 600 };
  }
  return installed;
}
