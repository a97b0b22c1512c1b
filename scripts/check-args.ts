/**
 * The command line the literature-check scripts share: `<attack> ['{json params}'] [--flag number ...]`.
 * `opt(flag, fallback)` reads a numeric flag; `args` is the rest, for flags of a script's own.
 */
export function checkArgs(): {
  args: string[];
  attackName: string;
  attackParams: Record<string, unknown>;
  opt: (flag: string, fallback: number) => number;
} {
  const args = process.argv.slice(2);
  const opt = (flag: string, fallback: number): number => {
    const i = args.indexOf(flag);
    return i >= 0 ? Number(args[i + 1]) : fallback;
  };
  return {
    args,
    attackName: args[0]!,
    attackParams: JSON.parse(args[1] ?? '{}') as Record<string, unknown>,
    opt,
  };
}
