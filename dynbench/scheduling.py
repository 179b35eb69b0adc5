"""xdist scheduling by video: every case of a scene runs on one worker (frames decode once).

It is xdist's ``loadgroup`` with one change. When a worker dies, xdist puts the test that
was running back into the queue with the rest of its group, so a deterministic crash (a
segfault on one video) kills worker after worker until xdist runs out of restarts and the
session stalls. Here the crashed test is reported once, as an error, and never sent again;
the rest of its group is rescheduled.
"""

from __future__ import annotations

from xdist.scheduler import LoadGroupScheduling


class SceneScheduling(LoadGroupScheduling):
    def remove_node(self, node) -> str | None:
        workload = self.assigned_work.pop(node)
        crashed = next((nodeid for unit in workload.values()
                        for nodeid, done in unit.items() if not done), None)
        if crashed is None:
            return None
        for unit in workload.values():
            if crashed in unit:
                unit[crashed] = True
        self.workqueue.update({scope: unit for scope, unit in workload.items()
                               if not all(unit.values())})
        for other in self.assigned_work:
            self._reschedule(other)
        return crashed
