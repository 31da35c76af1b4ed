"""Child process for test_crash.py: records synthetic episodes until it is killed.

argv: out_dir storage image_size length split_size mode
mode "mid": finish 3 episodes, start a 4th, log half of it, print "mid", then wait.
mode "loop": record episodes forever, printing "ok <n>" after each end_episode.
"""

import sys
import time

from cog_core.bag import BagRecorder
from cog_core.bag.synthetic import make_episode, record_episode

out, storage, size, length, split, mode = sys.argv[1:7]
size, length, split = int(size), int(length), int(split)
rec = BagRecorder(out, storage=storage, split_size_bytes=split, run_id="crash")
i = 0
while True:
    ep = make_episode(7, i, length=length, image_size=size)
    if mode == "mid" and i == 3:
        rec.begin_episode(ep.task, ep.initial_condition, ep.policy)
        for t in range(length // 2):
            rec.add_step(ep.images[t], ep.states[t], ep.actions[t], float(ep.rewards[t]), lowdim=ep.lowdim[t])
        print("mid", flush=True)
        time.sleep(600)
    record_episode(rec, ep)
    print(f"ok {i}", flush=True)
    i += 1
