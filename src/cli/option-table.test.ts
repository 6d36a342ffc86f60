import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseArgs } from 'node:util';
import type { Command } from './command.js';
import { commands } from './commands/index.js';
import { defineOptions, nameColumn, type OptionTable } from './option-table.js';
import { STORAGE_FLAGS_HELP, STORAGE_OPTIONS } from './storage-flags.js';

describe('defineOptions', () => {
  const table = defineOptions(
    {
      model: { type: 'string', value: 'PATH', help: 'ONNX model file' },
      label: { type: 'string', value: 'RULE', help: ['parent (default), first,', 'or regex:<pattern>'] },
      engine: { type: 'string', value: 'NAME', default: 'local', section: 'Distributed:', help: 'local or bullmq' },
      allow: { type: 'string', value: 'PREFIX', multiple: true, short: 'a', section: 'Distributed:', help: 'repeatable' },
      quiet: { type: 'boolean', help: 'no progress output' },
    },
    { arguments: { RUN_ID: 'this run only' } },
  );

  test('lists each section under its heading, names in one padded column, continuation lines under the description', () => {
    assert.equal(
      table.help(),
      [
        'Options:',
        '  RUN_ID          this run only',
        '  --model PATH    ONNX model file',
        '  --label RULE    parent (default), first,',
        '                  or regex:<pattern>',
        '  --quiet         no progress output',
        '',
        'Distributed:',
        '  --engine NAME   local or bullmq',
        '  --allow PREFIX  repeatable',
      ].join('\n'),
    );
  });

  test('rows alone, indented and aligned with other tables, e.g. under a subcommand', () => {
    const other = defineOptions({ 'with-classifier': { type: 'boolean', help: ['use the full file', 'and its head'] } });
    const column = nameColumn(table, other);
    assert.equal(column, '--with-classifier'.length + 2);
    assert.equal(other.rows({ indent: 4, column }), ['    --with-classifier  use the full file', '                       and its head'].join('\n'));
    assert.equal(defineOptions({ json: { type: 'boolean', help: 'as JSON' } }).rows({ indent: 4, column }), '    --json             as JSON');
  });

  test('the parseArgs table: parsing fields only, booleans default to false, string defaults kept', () => {
    assert.deepStrictEqual(table.parseOptions, {
      model: { type: 'string' },
      label: { type: 'string' },
      engine: { type: 'string', default: 'local' },
      allow: { type: 'string', multiple: true, short: 'a' },
      quiet: { type: 'boolean', default: false },
    });
    const { values } = parseArgs({ args: ['-a', 'x', '--allow', 'y', '--model', 'm'], options: table.parseOptions });
    assert.deepStrictEqual({ ...values }, { allow: ['x', 'y'], model: 'm', engine: 'local', quiet: false });
  });

  test('a boolean option takes no value placeholder', () => {
    assert.throws(() => defineOptions({ quiet: { type: 'boolean', value: 'X', help: 'no' } }), /--quiet: only a string option takes a value/);
  });
});

/** What `fruits <name> --help` prints: main.ts appends the storage options to every command's help. */
const printed = (command: Command): string => `${command.help}\n${STORAGE_FLAGS_HELP}\n`;

/**
 * The text of a table's sections as the help shows them: from each heading to the next blank line (so notes written
 * after the generated rows count too); for rows listed without a heading (model's subcommands), the rows' own text.
 */
function sectionsText(help: string, table: OptionTable): string[] {
  const headings = new Set(Object.values(table.declarations).map((d) => d.section ?? table.layout.heading ?? 'Options:'));
  const lines = help.split('\n');
  return [...headings].map((heading) => {
    const start = lines.indexOf(heading);
    if (start < 0)
      return Object.values(table.declarations)
        .flatMap((d) => d.help)
        .join('\n');
    const end = lines.indexOf('', start);
    return lines.slice(start + 1, end < 0 ? undefined : end).join('\n');
  });
}

describe('every command: its help and its parsing come from the same declarations', () => {
  const byName = new Map(commands.map((c) => [c.name, c]));
  const mentions = new RegExp(`fruits (${commands.map((c) => c.name).join('|')})\\b([^\`();\\n]*)`, 'g');
  const declared = (command: Command): Set<string> =>
    new Set([...command.options, STORAGE_OPTIONS].flatMap((t) => Object.keys(t.declarations).map((name) => `--${name}`)));

  for (const command of commands) {
    test(`fruits ${command.name} --help lists every option it parses, and mentions no other`, () => {
      const help = printed(command);
      assert.ok(command.options.length > 0, 'no option table');
      for (const table of [...command.options, STORAGE_OPTIONS]) {
        for (const [name, d] of Object.entries(table.declarations)) {
          const row = new RegExp(`^ +--${name}${d.value ? ` ${d.value.replace(/[|]/g, '\\|')}` : ''} {2,}\\S`, 'm');
          assert.match(help, row, `--${name} is parsed but has no row in the help`);
        }
        for (const text of sectionsText(help, table)) {
          // A flag of another command is written in a mention of it: `fruits inspect --verify`.
          const own = text.replace(mentions, (mention, other: string, rest: string) => {
            const target = byName.get(other) as Command;
            for (const flag of rest.match(/--[a-z][\w-]*/g) ?? []) assert.ok(declared(target).has(flag), `"${mention}": fruits ${other} has no ${flag}`);
            return '';
          });
          for (const flag of own.match(/--[a-z][\w-]*/g) ?? []) assert.ok(declared(command).has(flag), `the options mention ${flag}, which it does not parse`);
        }
      }
    });
  }
});
