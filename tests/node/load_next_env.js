// Print, as JSON, the variables Next.js' own loader (@next/env) reads from DIR's .env files
// for a production build: node load_next_env.js DIR
const { loadEnvConfig } = require('@next/env');

const quiet = { info() {}, error(message) { console.error(message); } };
const { combinedEnv, loadedEnvFiles } = loadEnvConfig(process.argv[2], false, quiet, true);
const loaded = {};
for (const file of loadedEnvFiles) {
  for (const key of Object.keys(file.env)) loaded[key] = combinedEnv[key];
}
process.stdout.write(JSON.stringify(loaded));
