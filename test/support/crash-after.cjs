// Preloaded (node --require) into a function's process by interruption tests: once the AWS call
// named by CRASH_AFTER_ACTION has been answered, the process dies on the spot, as a Lambda
// runtime killed mid-remediation would: AWS did the work, the responder never heard back.
const http = require('node:http');

const action = process.env.CRASH_AFTER_ACTION;
if (action) {
  const originalEnd = http.ClientRequest.prototype.end;
  http.ClientRequest.prototype.end = function end(chunk, ...rest) {
    const body = chunk ? chunk.toString() : '';
    if (body.includes(`Action=${action}&`) || body.endsWith(`Action=${action}`)) {
      this.once('response', (response) => response.once('end', () => process.exit(137)));
    }
    return originalEnd.call(this, chunk, ...rest);
  };
}
