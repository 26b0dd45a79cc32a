import { setHandler } from '@temporalio/workflow';
import type { ConnectionInput } from './carried-state';
import { LiveConnection } from './live-connection';
import {
  cancelUpdate,
  confirmUpdate,
  pauseUpdate,
  resumeUpdate,
  resyncUpdate,
  settingsChangedSignal,
  statusQuery,
  stopUpdate,
  syncNowSignal,
  syncNowUpdate,
} from './messages';
import { cycle, initialSync } from './syncing';

/**
 * The life of one connection: a full scan of both sides that matches and merges, then incremental cycles
 * every poll interval or on "sync now", for as long as the connection exists.
 */
export async function connectionWorkflow(input: ConnectionInput): Promise<void> {
  const connection = new LiveConnection(input);
  answerMessages(connection);

  if (!(await connection.readSettings())) return;
  await connection.mirrorPhase();

  while (!connection.stopRequested) {
    if (connection.settingsDirty && !(await connection.readSettings())) break;
    if (!(await connection.waitUntilResumed())) continue;

    if (connection.phase === 'needs-reauth') {
      await connection.waitForNewSettings();
      continue;
    }
    await connection.retryFailuresAfterNewSettings();
    if (connection.phase === 'initial-scan') {
      await connection.sync(() => initialSync(connection));
    } else {
      if (!(await connection.waitUntilCycleDue())) continue;
      await connection.sync(() => cycle(connection));
    }
    await connection.continueAsNewIfSuggested();
  }
  await connection.finish();
}

function answerMessages(connection: LiveConnection): void {
  setHandler(pauseUpdate, () => connection.pause(), { description: 'Stop writing to both apps until resumed.' });
  setHandler(resumeUpdate, () => connection.resume(), { description: 'Continue syncing after a pause.' });
  setHandler(stopUpdate, () => connection.stop(), {
    description: 'End the connection workflow; its records are kept.',
  });
  setHandler(syncNowSignal, () => connection.requestSync(), { description: 'Run an incremental cycle at once.' });
  setHandler(syncNowUpdate, () => connection.startCycle(), {
    description: 'Run a cycle at once; returns when it has started, with its number (its result shows in status).',
    validator: () => connection.refuseUnlessCycling(),
  });
  setHandler(resyncUpdate, () => connection.resync(), {
    description: 'Plan every contact again (applies changed settings to all), then run a cycle at once.',
    validator: () => connection.refuseUnlessCycling(),
  });
  setHandler(confirmUpdate, () => connection.decide('confirm'), {
    description: 'Let the deletions the safety brake held go through.',
    validator: () => connection.refuseUnlessHeld(),
  });
  setHandler(cancelUpdate, () => connection.decide('cancel'), {
    description: 'Drop the deletions the safety brake held; links are kept.',
    validator: () => connection.refuseUnlessHeld(),
  });
  setHandler(settingsChangedSignal, () => connection.settingsChanged(), {
    description: 'Re-read the connection settings (and credentials) from the database.',
  });
  setHandler(statusQuery, () => connection.status(), { description: 'Phase, counts, last and next cycle.' });
}
