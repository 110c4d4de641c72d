/**
 * Runs before each integration test file: points the real AWS SDK at this worker's moto_server
 * with dummy credentials. Nothing here can reach AWS.
 */
const endpoints = (process.env.MOTO_ENDPOINTS ?? '').split(',').filter(Boolean);
const worker = Number(process.env.JEST_WORKER_ID ?? '1');
const endpoint = endpoints[(worker - 1) % Math.max(1, endpoints.length)];
if (!endpoint) throw new Error('No moto endpoint: integration tests must run through the jest global setup');

process.env.AWS_ENDPOINT_URL = endpoint;
process.env.AWS_ACCESS_KEY_ID = 'testing';
process.env.AWS_SECRET_ACCESS_KEY = 'testing';
process.env.AWS_SESSION_TOKEN = 'testing';
process.env.AWS_REGION = 'us-east-1';
process.env.AWS_DEFAULT_REGION = 'us-east-1';
// Never let a developer's profile or config file leak into a test.
delete process.env.AWS_PROFILE;
process.env.AWS_CONFIG_FILE = '/dev/null';
process.env.AWS_SHARED_CREDENTIALS_FILE = '/dev/null';
