// Preloaded (node --require) into a function's process by the reliability tests: a copy of
// everything it writes (its logs, its result) goes to CAPTURE_OUTPUT_FILE, to be searched for leaks.
const fs = require('node:fs');

const file = process.env.CAPTURE_OUTPUT_FILE;
if (file) {
  for (const stream of [process.stdout, process.stderr]) {
    const write = stream.write.bind(stream);
    stream.write = (chunk, ...rest) => {
      fs.appendFileSync(file, typeof chunk === 'string' ? chunk : Buffer.from(chunk));
      return write(chunk, ...rest);
    };
  }
}
