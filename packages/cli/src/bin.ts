#!/usr/bin/env node
// Checked before anything else loads, so an older Node.js gets this line rather than an error from
// deep inside a dependency.
const major = Number(process.versions.node.split('.')[0]);
if (major < 24) {
  console.error(
    `gatehouse needs Node.js 24 or newer; this is Node.js ${process.versions.node} (${process.execPath})`,
  );
  process.exit(1);
}

const { main } = await import('./main.ts');
const code = await main(process.argv.slice(2));
if (code !== 0) process.exitCode = code;
