// /flow/spawnOrphan: a child that ignores SIGTERM, calls setsid() and
// spins. A hard cancel must end it too (the worker's PID namespace), under
// --sandbox none and standard, while other runs carry on.
import { describe, test, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  startSupervisor,
  closeSupervisors,
  settledWorkers,
  startRun,
  traceIdOf,
  concurrentSleep,
  assertStatus,
  assertAllGone,
  assertServing,
  stderrMark,
  orphanPid,
  procStat,
  procStatus,
  descendants,
  NOBODY_UID,
} from './sandbox.mjs';

for (const sandbox of ['none', 'standard']) {
  describe(`spawnOrphan under --sandbox ${sandbox}`, () => {
    after(closeSupervisors);

    test('cancel ends the run, its worker and the setsid() orphan', async () => {
      const m = await startSupervisor(['--sandbox', sandbox]);
      const [w] = await settledWorkers(m, 1);
      const mark = stderrMark(m);
      const r = startRun(m, '/flow/spawnOrphan', {}, { stream: true }, 15000);
      const traceId = await traceIdOf(m, r);
      await m.waitFor(() => r.run.chunks.length > 0, 5000, 'the first chunk');
      const { local, global } = await orphanPid(m, mark);
      assert.deepEqual(r.run.chunks[0], { pid: local });

      // The orphan is a real process below the worker, in its namespace.
      const orphan = procStat(global);
      assert.ok(orphan, `orphan ${global} exists`);
      const st = procStatus(global);
      assert.equal(st.nspid.at(-1), local, `NSpid of ${global}: ${st.nspid}`);
      assert.ok(descendants(w.pid).some((p) => p.pid === global), 'the orphan descends from the worker');
      assert.notEqual(orphan.pgrp, procStat(w.pid).pgrp, 'the orphan left the worker group (setsid)');
      if (sandbox === 'standard') assert.equal(st.uid, NOBODY_UID, 'the orphan runs as nobody');
      const tree = [w, ...descendants(w.pid)];

      const other = concurrentSleep(m);
      const c = await m.request('cancelAction', { traceId }, { timeoutMs: 5000 });
      assert.equal(c.error, undefined, JSON.stringify(c.error));
      assert.deepEqual(c.result, { message: 'Action cancelled' });
      assertStatus(await r.done, r, 1, 'Action was cancelled');
      await other;

      await assertAllGone(m, [orphan], `orphan ${global}`);
      await assertAllGone(m, tree, `worker ${w.pid} and its processes`);
      await assertServing(m);
    });
  });
}
