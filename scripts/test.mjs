// `npm test`: the whole suite in two passes, so that tests asserting latency and memory bounds
// (the adversarial suite's bombs, upload validation off the event loop) are measured with no other
// test file competing for the machine's cores.
//   1. every other spec file, in parallel forks (vitest's default);
//   2. the timing-sensitive files (TIMING_SPECS in vitest.config.ts), one file at a time.
// Arguments are passed to both passes (file filters, -t, reporters). A `--outputFile.json=X`
// gets one JSON report per pass, merged into X, so CI sums both (.ci/run).
import { spawnSync } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';

const args = process.argv.slice(2);
const outputArg = args.find((a) => a.startsWith('--outputFile.json='));
const output = outputArg?.slice('--outputFile.json='.length);
const passes = [
  { phase: 'parallel', label: 'all but the timing-sensitive tests, in parallel' },
  { phase: 'timing', label: 'timing-sensitive tests (latency and memory bounds), one file at a time' },
];

let failed = false;
const reports = [];
for (const { phase, label } of passes) {
  console.log(`\n== npm test: ${label}\n`);
  const report = output ? `${output}.${phase}.json` : undefined;
  const passArgs = args.map((a) => (a === outputArg ? `--outputFile.json=${report}` : a));
  const run = spawnSync('npx', ['vitest', 'run', '--passWithNoTests', ...passArgs], {
    stdio: 'inherit',
    env: { ...process.env, SCP_TEST_PHASE: phase },
  });
  if (run.status !== 0) failed = true;
  if (report) reports.push(report);
}

if (output) {
  const merged = {
    numPassedTests: 0,
    numFailedTests: 0,
    numPendingTests: 0,
    numTodoTests: 0,
    numTotalTests: 0,
    testResults: [],
  };
  for (const file of reports) {
    let r;
    try {
      r = JSON.parse(readFileSync(file, 'utf8'));
    } catch {
      // A pass that crashed before reporting counts as one failure.
      merged.numFailedTests += 1;
      continue;
    }
    for (const key of [
      'numPassedTests',
      'numFailedTests',
      'numPendingTests',
      'numTodoTests',
      'numTotalTests',
    ])
      merged[key] += r[key] ?? 0;
    merged.testResults.push(...(r.testResults ?? []));
    rmSync(file, { force: true });
  }
  merged.success = !failed;
  writeFileSync(output, JSON.stringify(merged));
}
process.exit(failed ? 1 : 0);
