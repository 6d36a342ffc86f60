import { DEFAULT_IMAGES_PER_FILE, openStorage, packImages, parseLabelRule } from '../../index.js';
import { UsageError, type Command } from '../command.js';
import { defineOptions } from '../option-table.js';
import { intOption } from '../options.js';

const OPTIONS = defineOptions({
  format: { type: 'string', value: 'tar|parquet', help: 'required' },
  'images-per-file': {
    type: 'string',
    value: 'N',
    help: `images per output file (default ${DEFAULT_IMAGES_PER_FILE}); each file is built in memory`,
  },
  'row-group-size': { type: 'string', value: 'N', help: 'parquet: rows per row group (default 256), what a reader holds at once' },
  glob: { type: 'string', value: 'PATTERN', help: 'which files are images (default: jpg, jpeg, png, webp, any case)' },
  'label-from': { type: 'string', value: 'RULE', help: 'parent (default), first, none or regex:<pattern>' },
  prefix: { type: 'string', value: 'NAME', help: 'output file names NAME-00000.… (default images)' },
  quiet: { type: 'boolean', help: 'no progress output' },
});

const HELP = `Usage: fruits pack <input> <output> --format tar|parquet [options]

Packs a folder (or s3://bucket/prefix) of class sub-folders into a few large files, which object stores and
\`fruits extract\` read far faster than millions of small ones:
  --format tar       WebDataset shards <output>/images-00000.tar …: each image under its relative path, and beside it
                     <path without extension>.cls holding its label
  --format parquet   image tables <output>/images-00000.parquet …: columns path, label (strings), bytes (binary),
                     in row groups of --row-group-size rows
Images are taken in sorted path order; labels follow --label-from, as in \`fruits extract\`. Extracting the packed
files gives the same features, labels and paths (tar paths are prefixed with the tar's name, e.g.
images-00000.tar/Apple 6/r0_100.jpg).

${OPTIONS.help()}

Exit codes: 0 packed (unreadable images are skipped and listed), 1 failed, 2 bad usage.
`;

export const packCommand: Command = {
  name: 'pack',
  summary: 'class folders → WebDataset .tar shards or Parquet image tables (few large files instead of many small)',
  help: HELP,
  options: [OPTIONS],
  async run(argv) {
    const { values, positionals } = OPTIONS.parse(argv);
    if (positionals.length !== 2) throw new UsageError('expected <input> and <output>');
    if (values.format !== 'tar' && values.format !== 'parquet')
      throw new UsageError(`--format must be tar or parquet${values.format ? `, not "${values.format}"` : ''}`);
    if (values.prefix !== undefined && !/^[A-Za-z0-9][A-Za-z0-9._-]{0,100}$/.test(values.prefix))
      throw new UsageError(`--prefix must be a plain file name, not "${values.prefix}"`);
    let labelFrom;
    try {
      labelFrom = parseLabelRule(values['label-from'] ?? 'parent');
    } catch (error) {
      throw new UsageError((error as Error).message);
    }
    const [inputUri, outputUri] = positionals;
    const started = performance.now();
    let last = 0;
    const result = await packImages(openStorage(inputUri), openStorage(outputUri), {
      format: values.format,
      imagesPerFile: intOption('images-per-file', values['images-per-file'], DEFAULT_IMAGES_PER_FILE),
      rowGroupSize: intOption('row-group-size', values['row-group-size'], 256),
      glob: values.glob,
      labelFrom,
      prefix: values.prefix,
      onProgress: (packed, total) => {
        if (values.quiet || !process.stderr.isTTY || performance.now() - last < 500) return;
        last = performance.now();
        process.stderr.write(`\rpacking: ${packed}/${total} images`);
      },
    });
    if (!values.quiet && process.stderr.isTTY) process.stderr.write('\n');
    for (const s of result.skipped.slice(0, 10)) process.stderr.write(`skipped ${s.path}: ${s.message}\n`);
    if (result.skipped.length > 10) process.stderr.write(`… and ${result.skipped.length - 10} more skipped\n`);
    const seconds = ((performance.now() - started) / 1000).toFixed(1);
    process.stdout.write(
      `packed ${result.images} images into ${result.files.length} ${values.format} file(s) in ${outputUri} ` +
        `(${result.files[0]}${result.files.length > 1 ? ` … ${result.files.at(-1)}` : ''}) in ${seconds} s` +
        `${result.skipped.length > 0 ? `; ${result.skipped.length} unreadable image(s) skipped` : ''}\n`,
    );
    return 0;
  },
};
