// Finding tools/model's Python as `loupe train` does: LOUPE_PYTHON first, then tools/model/.venv, each checked by
// running it; every failure names the one command that makes a working environment.
import { chmodSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { findPython, PythonError, setupCommand, venvPython } from './python.js';

const work = mkdtempSync(path.join(tmpdir(), 'loupe-python-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** A stand-in interpreter that fails the way a Python without torch does. */
function pythonWithoutTorch(): string {
  const file = path.join(work, 'python-without-torch');
  writeFileSync(file, `#!/bin/sh\necho "ModuleNotFoundError: No module named 'torch'" >&2\nexit 1\n`);
  chmodSync(file, 0o755);
  return file;
}

describe('findPython', () => {
  it('names LOUPE_PYTHON, why it cannot train, and the command that makes an environment', async () => {
    const env = { ...process.env, LOUPE_PYTHON: pythonWithoutTorch() };
    await expect(findPython({ env })).rejects.toThrow(PythonError);
    await expect(findPython({ env })).rejects.toThrow(`LOUPE_PYTHON (${env.LOUPE_PYTHON}) cannot import torch, torchvision and pycocotools (ModuleNotFoundError: No module named 'torch'); make an environment with: ${setupCommand()}`);
    expect(setupCommand()).toMatch(/^bash \/.+\/tools\/model\/setup-venv\.sh$/);
  });

  it('names the command that makes tools/model/.venv when there is none and LOUPE_PYTHON is not set', async () => {
    const missing = path.join(work, 'no-venv', 'bin', 'python');
    await expect(findPython({ env: { ...process.env, LOUPE_PYTHON: '' }, venv: missing })).rejects.toThrow(
      `no Python with PyTorch to train with: LOUPE_PYTHON is not set and ${missing} does not exist; make it with: ${setupCommand()}`,
    );
  });

  it('says so when LOUPE_PYTHON names nothing that runs', async () => {
    const env = { ...process.env, LOUPE_PYTHON: path.join(work, 'no-such-python') };
    await expect(findPython({ env })).rejects.toThrow(/cannot import torch, torchvision and pycocotools \(ENOENT: .*\)/);
  });

  const venv = venvPython();
  describe.skipIf(!existsSync(venv))(existsSync(venv) ? 'tools/model/.venv' : `skipped: ${venv} is missing (tools/model/setup-venv.sh makes it)`, () => {
    const env = { ...process.env, LOUPE_PYTHON: '' };

    it('is used when LOUPE_PYTHON is not set, and reports its torch', async () => {
      const info = await findPython({ env });
      expect(info).toMatchObject({ python: venv, source: 'tools/model/.venv' });
      expect(info.torch).toMatch(/^\d+\.\d+/);
    });

    it('refuses --device cuda with a torch built without CUDA, naming the CUDA install', async () => {
      const info = await findPython({ env });
      if (info.cuda === null) {
        await expect(findPython({ env, cuda: true })).rejects.toThrow(`this torch (${info.torch}, ${venv}) was built without CUDA; install the CUDA build of torch: ${setupCommand(true)}`);
      } else if (!info.gpu) {
        await expect(findPython({ env, cuda: true })).rejects.toThrow(/sees no usable GPU; check the NVIDIA driver/);
      } else {
        expect((await findPython({ env, cuda: true })).gpu).toBe(true);
      }
    });
  });
});
