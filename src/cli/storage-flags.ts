import { UsageError } from './command.js';
import { defineOptions } from './option-table.js';

/**
 * `--s3-endpoint URL` and `--s3-region NAME`, accepted by every command: they set AWS_ENDPOINT_URL_S3 and
 * AWS_REGION for this process before anything opens storage, so the engines' threads and the S3 adapter see
 * one setting, exactly as if the variables had been exported. Each `fruits worker` takes its own: the endpoint
 * it reaches is a property of where it runs, not of the run.
 */
export const STORAGE_OPTIONS = defineOptions(
  {
    's3-endpoint': {
      type: 'string',
      value: 'URL',
      help: ['an S3-compatible store (MinIO, s3rver, another cloud) instead of AWS', '(default: AWS_ENDPOINT_URL_S3, then AWS_ENDPOINT_URL)'],
    },
    's3-region': { type: 'string', value: 'NAME', help: "the bucket's region (default: AWS_REGION, then eu-west-3, Paris: the data stays in the EU)" },
  },
  { heading: 'Storage options (every command):' },
);

export const STORAGE_FLAGS_HELP = `${STORAGE_OPTIONS.help()}
  Credentials come from the AWS default chain (environment, shared files, instance or task role), never from flags.`;

/** The variable each flag sets; typed by the declarations, so a flag cannot be declared without one. */
const ENV: { [K in keyof typeof STORAGE_OPTIONS.declarations]: string } = { 's3-endpoint': 'AWS_ENDPOINT_URL_S3', 's3-region': 'AWS_REGION' };

/** Removes the storage flags from argv and applies them to `env`; returns the remaining arguments. */
export function applyStorageFlags(argv: string[], env: NodeJS.ProcessEnv = process.env): string[] {
  const rest: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const [flag, inline] = argv[i].split(/=(.*)/s, 2) as [string, string | undefined];
    const name = flag.slice(2) as keyof typeof ENV;
    if (!flag.startsWith('--') || !Object.hasOwn(ENV, name)) {
      rest.push(argv[i]);
      continue;
    }
    const value = inline ?? argv[++i];
    if (value === undefined || value.startsWith('--')) throw new UsageError(`${flag} needs a value`);
    if (flag === '--s3-endpoint') checkEndpoint(value);
    else if (!/^[a-z]{2}(-[a-z]+)+-\d+$/.test(value)) throw new UsageError(`--s3-region "${value}" is not a region name such as eu-west-3`);
    env[ENV[name]] = value;
  }
  return rest;
}

function checkEndpoint(value: string): void {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new UsageError('--s3-endpoint must be a URL such as http://127.0.0.1:9000');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new UsageError('--s3-endpoint must be an http:// or https:// URL');
  // Credentials belong in the AWS chain, where they are not echoed in process lists and logs.
  if (url.username || url.password) throw new UsageError('--s3-endpoint must not hold credentials: use AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or a profile');
}
