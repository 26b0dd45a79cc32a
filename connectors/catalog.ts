import { sandboxApp } from './sandbox';
import type { AppDefinition } from './types';

/** Every app Rapport can connect; adding an app is adding its folder and one line here. */
export const apps: Record<string, AppDefinition> = {
  [sandboxApp.id]: sandboxApp,
};

export function getApp(id: string): AppDefinition | undefined {
  return Object.hasOwn(apps, id) ? apps[id] : undefined;
}
