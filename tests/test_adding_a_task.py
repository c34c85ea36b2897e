"""Adding a task as README "Adding a task" says: the config rules and checks ask the task's `TaskInfo` (not a list of
their own), a task's missing piece is one line before training, `textgru eval` asks the loaded model (a review of the
guide followed literally with a toy `task=length`: each of these was refused wrongly or a traceback)."""

from __future__ import annotations

from conftest import run_python

# a contributor's new task: one entry in TASKS, made before anything reads the table (as an edited tasks/__init__.py)
NEW_TASK = """
import textgru.tasks as t
from textgru.errors import TextgruError
t.TASKS["free"] = t.TaskInfo("textgru.tasks.sentiment", "free (task=free)", "")  # names no sources, no model
try:
    t.TASKS["length"] = t.TaskInfo("textgru.tasks.sentiment", "length (task=length)", "", sources=("tweets",))
except TypeError as e:  # (no sources in TaskInfo: said last)
    said = str(e)
else:
    said = ""
from textgru.config import compose_config
from textgru.config_checks import check_config
for task, data in (("free", "shakespeare"), ("length", "tweets"), ("length", "shakespeare"), ("nosuch", "tweets")):
    try:
        check_config(compose_config("train", [f"task.name={task}", f"data={data}"]), "train")
        print(task, data, "ok")
    except TextgruError as e:
        print(task, data, e)
print(said)
"""


def test_a_task_added_to_tasks_is_taken_and_its_sources_come_from_its_task_info() -> None:
    r = run_python(["-c", NEW_TASK], fresh=True)  # fresh: the rules read TASKS when first imported
    assert r.returncode == 0, r.stderr[-2000:]
    lines = r.stdout.splitlines()
    assert lines[0] == "free shakespeare ok"  # was: task.name=free: must be one of sentiment, lm, forecast, bilm
    assert lines[1] == "length tweets ok"  # a task that names no sources (free) takes any of textgru's; length:
    assert lines[2].startswith("length shakespeare data.source=shakespeare is not data for task=length: use a data ")
    assert "source is one of tweets (" in lines[2]
    assert lines[3].startswith("nosuch tweets task.name=nosuch: must be one of sentiment, lm, forecast, bilm, free")
