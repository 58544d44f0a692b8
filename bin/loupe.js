#!/usr/bin/env node
// The `loupe` command: runs the built CLI in dist/ (npm install builds it through the prepare script).
let cli;
try {
  cli = await import('../dist/main/cli/index.js');
} catch (error) {
  if (error?.code !== 'ERR_MODULE_NOT_FOUND') throw error;
  process.stderr.write('loupe: dist/main/cli/index.js: not built yet; run `npm run build` first\n');
  process.exit(2);
}
process.exitCode = await cli.main(process.argv.slice(2));
