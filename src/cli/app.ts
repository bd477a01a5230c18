import { type App, createApp } from '../app.ts';
import { loadConfig } from '../config.ts';

export interface GlobalOptions {
  home?: string;
}

/** Opens cmir for one CLI command and closes it afterwards, whatever happens. */
export async function withApp<T>(opts: GlobalOptions, fn: (app: App) => Promise<T>): Promise<T> {
  const app = await createApp(loadConfig({ home: opts.home }));
  try {
    return await fn(app);
  } finally {
    await app.close();
  }
}
