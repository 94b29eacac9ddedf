import { type FSWatcher, watch } from 'node:fs';
import { basename, dirname } from 'node:path';
import type { Logger } from '@gatehouse/core';

/**
 * Reload the gateway's routes when the configuration file changes or the process gets SIGHUP.
 * `load` reads and parses the whole file (the CLI's loader) and returns the `gateway` section;
 * `reload` validates it and swaps it in. A file that fails either step is logged and ignored: the
 * routes in force stay. Editors save in bursts (truncate, write, rename), so changes are debounced,
 * and the directory is watched rather than the file, which a rename-on-save replaces.
 */
export function watchGatewayConfig(options: {
  file: string;
  load: () => unknown;
  reload: (section: unknown) => Promise<void>;
  logger: Logger;
  debounceMs?: number;
}): () => void {
  const { file, logger } = options;
  let timer: NodeJS.Timeout | undefined;
  let running = Promise.resolve();

  const apply = (reason: string) => {
    // One reload at a time, in order: a slow reload never races the next one.
    running = running.then(async () => {
      try {
        await options.reload(options.load());
        logger.info({ file, reason }, 'gateway configuration applied');
      } catch (err) {
        logger.error({ file, reason, err: (err as Error).message }, 'gateway configuration not applied');
      }
    });
  };
  const schedule = (reason: string) => {
    clearTimeout(timer);
    timer = setTimeout(() => apply(reason), options.debounceMs ?? 200);
  };

  const onHup = () => schedule('SIGHUP');
  process.on('SIGHUP', onHup);
  const dir = dirname(file);
  const base = basename(file);
  let watcher: FSWatcher | undefined;
  try {
    watcher = watch(dir, (_event, name) => {
      if (name === null || name === base) schedule('file changed');
    });
  } catch (err) {
    logger.warn(
      { file, err: (err as Error).message },
      'cannot watch the configuration file; SIGHUP still reloads',
    );
  }
  return () => {
    clearTimeout(timer);
    process.off('SIGHUP', onHup);
    watcher?.close();
  };
}
