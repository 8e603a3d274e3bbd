// Node's JSON.parse of the decode bench's mixed corpus, the anchor of issue 12 item 1.
// Usage: node benches/node_parse.js [target/decode_corpus.jsonl] [rounds]
// Reads one message a line (written by `TB_DECODE_CORPUS_OUT=... cargo bench --bench decode`),
// warms up, then times JSON.parse of every line per round with process.hrtime.bigint and
// prints one JSON line: msgs/s and MB/s (10^6 bytes) of the median round.
'use strict';
const fs = require('fs');

const path = process.argv[2] || 'target/decode_corpus.jsonl';
const rounds = Number(process.argv[3] || 30);
const lines = fs.readFileSync(path, 'utf8').split('\n').filter((l) => l.length > 0);
const bytes = lines.reduce((sum, l) => sum + Buffer.byteLength(l, 'utf8'), 0);

// One pass over the corpus; the count of parsed objects keeps the work observable.
function parseAll() {
  let ok = 0;
  for (const line of lines) {
    if (JSON.parse(line) !== null) ok += 1;
  }
  return ok;
}

for (let i = 0; i < 5; i++) parseAll(); // warm-up: JIT and heap sizing
const times = [];
for (let i = 0; i < rounds; i++) {
  const start = process.hrtime.bigint();
  const ok = parseAll();
  times.push(Number(process.hrtime.bigint() - start) / 1e9);
  if (ok !== lines.length) throw new Error(`parsed ${ok} of ${lines.length}`);
}
times.sort((a, b) => a - b);
const median = times[Math.floor(times.length / 2)];
console.log(JSON.stringify({
  node: process.version,
  msgs: lines.length,
  bytes,
  rounds,
  median_ms: median * 1e3,
  min_ms: times[0] * 1e3,
  msgs_per_s: lines.length / median,
  mb_per_s: bytes / median / 1e6,
}));
