import { carddavApp } from './carddav';
import { googleApp } from './google';
import { hubspotApp } from './hubspot';
import { outlookApp } from './outlook';
import { pipedriveApp } from './pipedrive';
import { pipelinerApp } from './pipeliner';
import { sandboxApp } from './sandbox';
import type { AppDefinition } from './types';

/** Every app Rapport can connect; adding an app is adding its folder and one line here. */
export const apps: Record<string, AppDefinition> = {
  [sandboxApp.id]: sandboxApp,
  [carddavApp.id]: carddavApp,
  [outlookApp.id]: outlookApp,
  [googleApp.id]: googleApp,
  [pipelinerApp.id]: pipelinerApp,
  [pipedriveApp.id]: pipedriveApp,
  [hubspotApp.id]: hubspotApp,
};

export function getApp(id: string): AppDefinition | undefined {
  return Object.hasOwn(apps, id) ? apps[id] : undefined;
}
