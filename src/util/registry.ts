/**
 * One registry for every kind of named, parameterised thing (attacks, defences): entries with a name, aliases, a
 * one-line description, a zod schema of their parameters (defaults and units) and a factory. Lookup is by name
 * or alias, case-insensitive; an unknown name and bad parameters are one-line errors naming the kind, as
 * tfjs-core's kernel registry and timm's `create_model` do it, so rules and defaults exist once.
 */
import type { z } from 'zod';
import { PoisonlabError } from './errors.js';

/** What every registry entry has. */
export interface RegistryEntry<P extends z.ZodObject = z.ZodObject> {
  name: string;
  aliases: readonly string[];
  /** One line: what it does, and the paper it comes from. */
  description: string;
  /** Parameters with defaults; `.describe()` on a field names its meaning and unit. */
  params: P;
}

/** One-line messages for the issues of a zod parse: `field: message; field: message`. */
export function zodIssues(error: z.ZodError): string {
  return error.issues.map((i) => `${i.path.length ? i.path.join('.') : '(root)'}: ${i.message}`).join('; ');
}

/** The entries of one kind (`kind` names it in errors: 'attack', 'defence'). */
export class Registry<E extends RegistryEntry> {
  private readonly entries: E[] = [];

  constructor(readonly kind: string) {}

  /** Add an entry; a taken name or alias is an error. */
  register(entry: E): void {
    for (const n of [entry.name, ...entry.aliases])
      if (this.find(n)) throw new PoisonlabError(`${this.kind} registry: the name '${n}' is taken twice`);
    this.entries.push(entry);
  }

  /** The entry called `name` (or with that alias; case-insensitive), if any. */
  find(name: string): E | undefined {
    const k = name.toLowerCase();
    return this.entries.find((e) => e.name === k || e.aliases.some((a) => a.toLowerCase() === k));
  }

  /** The entry called `name`; an unknown name is a one-line error listing the known ones. */
  get(name: string): E {
    const e = this.find(name);
    if (!e)
      throw new PoisonlabError(
        `${this.kind}: unknown ${this.kind} '${name}', expected one of ${this.entries.map((x) => x.name).join(', ')}`,
      );
    return e;
  }

  /** Every entry, in registration order. */
  list(): readonly E[] {
    return this.entries;
  }

  /** `raw` validated against the entry's schema, defaults filled in; errors are one line naming the entry. */
  parseParams(name: string, raw: unknown = {}): Record<string, unknown> {
    const entry = this.get(name);
    const res = entry.params.safeParse(raw ?? {});
    if (!res.success) throw new PoisonlabError(`${this.kind} ${entry.name}: ${zodIssues(res.error)}`);
    return res.data as Record<string, unknown>;
  }
}
