/**
 * One declaration per command option, from which both the `node:util` parseArgs table and the options section of
 * the command's `--help` are made.
 *
 * Why: each command used to carry a hand-written help text and, separately, a parseArgs table; the two were paired
 * by hand and drifted (an option parsed but not listed, a listed one renamed). Declared once, an option cannot be
 * parsed without being listed, nor listed under another name or value placeholder than the one parsed.
 *
 * @example
 * const OPTIONS = defineOptions({
 *   model: { type: 'string', value: 'PATH', help: 'ONNX model file or folder' },
 *   engine: { type: 'string', value: 'NAME', default: 'local', section: 'Distributed runs:', help: ['local or bullmq', '(default local)'] },
 *   quiet: { type: 'boolean', help: 'no progress output' },
 * });
 * const { values, positionals } = OPTIONS.parse(argv); // values.quiet: boolean, values.engine: string
 * OPTIONS.help();
 * // Options:
 * //   --model PATH   ONNX model file or folder
 * //   --quiet        no progress output
 * //
 * // Distributed runs:
 * //   --engine NAME  local or bullmq
 * //                  (default local)
 *
 * @module
 */
import { parseArgs } from 'node:util';

/** A help entry: one line, or several, kept as written (continuation lines are indented under the first). */
export type HelpText = string | readonly string[];

/** One `--name` option of a command. */
export interface OptionDeclaration {
  type: 'string' | 'boolean';
  /** The value's placeholder after the name in the help (`--model PATH`); string options only. */
  value?: string;
  help: HelpText;
  /** parseArgs's default; a boolean option without one defaults to false, as `values.x` is then never undefined. */
  default?: string | boolean;
  multiple?: boolean;
  short?: string;
  /** The heading the option is listed under (default: the table's heading, `Options:`). */
  section?: string;
}

/** What parseArgs is given for one declaration: its parsing fields only, with their literal types kept. */
export type ParseOption<D extends OptionDeclaration> = { type: D['type'] } & Pick<D, Extract<keyof D, 'multiple' | 'short' | 'default'>> &
  (D['type'] extends 'boolean' ? { default: boolean } : unknown);

export type ParseOptions<T extends Record<string, OptionDeclaration>> = { [K in keyof T]: ParseOption<T[K]> };

export interface TableLayout {
  /** Heading of the options without a `section` (default `Options:`). */
  heading?: string;
  /** Positional arguments listed first under that heading, e.g. `{ RUN_ID: 'show only this run' }`. */
  arguments?: Record<string, HelpText>;
}

export interface RowsFormat {
  /** Spaces before each name (default 2). */
  indent?: number;
  /** Least width of the name column, to align several tables (see {@link nameColumn}); default: this table's own. */
  column?: number;
}

export interface OptionTable<T extends Record<string, OptionDeclaration> = Record<string, OptionDeclaration>> {
  readonly declarations: Readonly<T>;
  readonly layout: Readonly<TableLayout>;
  /** The `options` of parseArgs. */
  readonly parseOptions: ParseOptions<T>;
  /** The help's options section(s): each heading, then its rows; sections apart by a blank line, no final newline. */
  help(format?: RowsFormat): string;
  /** The rows alone, every section's, without headings (e.g. options listed under a subcommand). */
  rows(format?: RowsFormat): string;
  /** The width of the name column (`--name VALUE` plus two spaces) that this table's rows need. */
  readonly column: number;
  /** parseArgs over `argv` with this table, positionals allowed (each command checks how many it takes). */
  parse(argv: string[]): ReturnType<typeof parseArgs<{ args: string[]; allowPositionals: true; options: ParseOptions<T> }>>;
}

/** Declares a command's options; see the module comment. Declaration order is the help's order within a section. */
export function defineOptions<const T extends Record<string, OptionDeclaration>>(declarations: T, layout: TableLayout = {}): OptionTable<T> {
  const heading = layout.heading ?? 'Options:';
  const entries: { section: string; name: string; help: HelpText }[] = [
    ...Object.entries(layout.arguments ?? {}).map(([name, help]) => ({ section: heading, name, help })),
    ...Object.entries(declarations).map(([name, d]) => {
      if (d.value !== undefined && d.type !== 'string') throw new Error(`--${name}: only a string option takes a value`);
      return { section: d.section ?? heading, name: `--${name}${d.value ? ` ${d.value}` : ''}`, help: d.help };
    }),
  ];
  const column = Math.max(0, ...entries.map((e) => e.name.length)) + 2;
  const sections = [...new Set(entries.map((e) => e.section))];
  const formatRows = (section: string | undefined, { indent = 2, column: least = 0 }: RowsFormat): string[] => {
    const width = Math.max(column, least);
    return entries
      .filter((e) => section === undefined || e.section === section)
      .flatMap((e) => {
        const [first = '', ...more] = typeof e.help === 'string' ? [e.help] : e.help;
        return [`${' '.repeat(indent)}${e.name.padEnd(width)}${first}`, ...more.map((line) => `${' '.repeat(indent + width)}${line}`)];
      });
  };
  const parseOptions = Object.fromEntries(
    Object.entries(declarations).map(([name, d]) => {
      const option: { type: 'string' | 'boolean'; default?: string | boolean; multiple?: boolean; short?: string } = { type: d.type };
      if (d.multiple !== undefined) option.multiple = d.multiple;
      if (d.short !== undefined) option.short = d.short;
      if (d.default !== undefined || d.type === 'boolean') option.default = d.default ?? false;
      return [name, option];
    }),
  ) as ParseOptions<T>;
  return {
    declarations,
    layout,
    parseOptions,
    column,
    help: (format = {}) => sections.map((s) => [s, ...formatRows(s, format)].join('\n')).join('\n\n'),
    rows: (format = {}) => formatRows(undefined, format).join('\n'),
    parse: (argv) => parseArgs({ args: argv, allowPositionals: true, options: parseOptions }),
  };
}

/** The name column that aligns the rows of several tables, e.g. the options of a command's subcommands. */
export function nameColumn(...tables: OptionTable[]): number {
  return Math.max(...tables.map((t) => t.column));
}
