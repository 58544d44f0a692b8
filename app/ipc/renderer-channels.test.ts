// RENDERER_CHANNELS is exactly what the renderer calls. The renderer is typed against RendererApi, so calling a channel
// outside the list does not compile; this test asks the type checker which channels its `invoke` calls name (a
// variable's union type counts, a plain string would fail), so a channel the UI stopped using leaves the list too.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { RENDERER_CHANNELS } from './contract.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const contractFile = path.join(root, 'app', 'ipc', 'contract.ts');

/** The channel names of every contract `invoke` call in the renderer's own code (not its tests), by file. */
function channelsTheRendererCalls(): Map<string, Set<string>> {
  const configFile = path.join(root, 'renderer', 'tsconfig.json');
  const config = ts.getParsedCommandLineOfConfigFile(configFile, {}, {
    ...ts.sys,
    onUnRecoverableConfigFileDiagnostic: (diagnostic) => {
      throw new Error(ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n'));
    },
  })!;
  const program = ts.createProgram({ rootNames: config.fileNames, options: config.options });
  const checker = program.getTypeChecker();
  const found = new Map<string, Set<string>>();
  const ownCode = (file: string) =>
    path.resolve(file).startsWith(path.join(root, 'renderer') + path.sep) && !/\.test(-support)?\.ts$/.test(file);

  for (const source of program.getSourceFiles().filter((file) => ownCode(file.fileName))) {
    const visit = (node: ts.Node): void => {
      if (ts.isCallExpression(node) && ts.isPropertyAccessExpression(node.expression) && node.expression.name.text === 'invoke') {
        const declared = checker.getSymbolAtLocation(node.expression.name)?.declarations ?? [];
        if (declared.some((d) => path.resolve(d.getSourceFile().fileName) === contractFile)) {
          const argument = node.arguments[0]!;
          const type = checker.getTypeAtLocation(argument);
          const names = (type.isUnion() ? type.types : [type]).map((t) => (t.isStringLiteral() ? t.value : null));
          const where = `${path.relative(root, source.fileName)}:${source.getLineAndCharacterOfPosition(node.getStart()).line + 1}`;
          if (names.includes(null)) throw new Error(`${where}: the channel is not a literal the checker can read (${checker.typeToString(type)})`);
          for (const name of names as string[]) found.set(name, (found.get(name) ?? new Set()).add(where));
        }
      }
      ts.forEachChild(node, visit);
    };
    visit(source);
  }
  return found;
}

describe('RENDERER_CHANNELS', () => {
  it('is exactly the set of channels the renderer invokes', () => {
    const called = channelsTheRendererCalls();
    expect([...called.keys()].sort()).toEqual([...RENDERER_CHANNELS].sort());
  });
});
