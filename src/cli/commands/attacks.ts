import type { Command } from 'commander';
import { describeParams, listAttacks } from '../../attacks/index.js';
import { listDefences } from '../../defences/index.js';
import { printJson } from '../output.js';

interface Listed {
  name: string;
  aliases: readonly string[];
  description: string;
  kind?: string;
  needs: object;
  params: ReturnType<typeof describeParams>;
}

function print(rows: Listed[]): void {
  for (const r of rows) {
    const needs = Object.entries(r.needs)
      .filter(([, v]) => v)
      .map(([k]) => k);
    const aliases = r.aliases.length ? ` (aliases: ${r.aliases.join(', ')})` : '';
    console.log(
      `${r.name}${aliases}${r.kind ? ` [${r.kind}]` : ''}${needs.length ? ` needs: ${needs.join(', ')}` : ''}`,
    );
    console.log(`  ${r.description}`);
    for (const p of r.params) {
      const def = p.default !== undefined ? ` = ${JSON.stringify(p.default)}` : '';
      console.log(`    ${`${p.name}${def}`.padEnd(26)} ${p.type.padEnd(28)} ${p.description}`);
    }
  }
}

/** `poisonlab attacks` and `poisonlab defences`: the registries, every entry with its parameters. */
export function register(program: Command): void {
  program
    .command('attacks')
    .description(
      'list the attacks of the registry with their parameters (for poison --attack and sweep configs)',
    )
    .option('--json', 'print one JSON object', false)
    .action((f: { json: boolean }) => {
      const rows: Listed[] = listAttacks().map((e) => ({
        name: e.name,
        aliases: e.aliases,
        description: e.description,
        kind: e.kind,
        needs: e.needs,
        params: describeParams(e.params),
      }));
      if (f.json) printJson({ attacks: rows });
      else print(rows);
    });
  program
    .command('defences')
    .description('list the poison defences of the registry with their parameters (for sweep configs)')
    .option('--json', 'print one JSON object', false)
    .action((f: { json: boolean }) => {
      const rows: Listed[] = listDefences().map((e) => ({
        name: e.name,
        aliases: e.aliases,
        description: e.description,
        needs: e.needs,
        params: describeParams(e.params),
      }));
      if (f.json) printJson({ defences: rows });
      else print(rows);
    });
}
