// Which reference systems `gatehouse dev` runs from a checkout, and what it prints for those it leaves out.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadExamples } from '../src/examples.ts';

test('from the repository every reference system is loaded, the Python one unless its packages are missing', async () => {
  const { examples, notes } = await loadExamples();
  const names = examples.map((e) => e.name);
  assert.deepEqual(names.slice(0, 5), ['shop', 'partscoder', 'service-to-service', 'sso', 'beep']);
  const pythonOff = notes.find((note) => note.startsWith('python-service example is off: '));
  if (pythonOff === undefined) {
    assert.deepEqual(names, ['shop', 'partscoder', 'service-to-service', 'sso', 'beep', 'python-service']);
    assert.deepEqual(notes, []);
  } else {
    if (process.env.CI === 'true') assert.fail(`CI=true and ${pythonOff}`);
    assert.equal(names.length, 5);
    assert.deepEqual(notes, [pythonOff]);
  }
});

test('without the Python packages the Python example is left out with one line saying why', async () => {
  const saved = process.env.GATEHOUSE_PYTHON;
  process.env.GATEHOUSE_PYTHON = '/nonexistent/python3';
  try {
    const { examples, notes } = await loadExamples();
    assert.deepEqual(
      examples.map((e) => e.name),
      ['shop', 'partscoder', 'service-to-service', 'sso', 'beep'],
    );
    assert.equal(notes.length, 1);
    assert.match(
      notes[0]!,
      /^python-service example is off: \/nonexistent\/python3 not found \(install python3, /,
    );
  } finally {
    if (saved === undefined) delete process.env.GATEHOUSE_PYTHON;
    else process.env.GATEHOUSE_PYTHON = saved;
  }
});
