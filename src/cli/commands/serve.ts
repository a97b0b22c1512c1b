import type { Command } from 'commander';
import { startServer } from '../../serve/server.js';
import { note, parseNumberOption, say } from '../output.js';

export function register(program: Command): void {
  program
    .command('serve')
    .description('a live, read-only web dashboard of one or more sweep folders (runs while the sweep runs)')
    .argument('<dir...>', 'sweep folders (each holding runs.sqlite); several are overlaid in the width view')
    .option(
      '--port <n>',
      'port to listen on (0 picks a free one)',
      parseNumberOption('--port', { min: 0, max: 65535, integer: true }),
      8080,
    )
    .option('--host <addr>', 'interface to bind; anything but 127.0.0.1 exposes the dashboard', '127.0.0.1')
    .action(async (dirs: string[], f: { port: number; host: string }) => {
      const server = await startServer({ dirs, host: f.host, port: f.port });
      if (!['127.0.0.1', 'localhost', '::1'].includes(f.host))
        note(false, `poisonlab serve: listening on ${f.host}: anyone who can reach it can read these sweeps`);
      say(
        false,
        `poisonlab serve: ${server.url} (${dirs.length} sweep${dirs.length > 1 ? 's' : ''}; Ctrl-C stops)`,
      );
      await new Promise<void>((resolve) => {
        const stop = () => {
          process.off('SIGINT', stop);
          process.off('SIGTERM', stop);
          void server.close().then(resolve);
        };
        process.on('SIGINT', stop);
        process.on('SIGTERM', stop);
      });
    });
}
