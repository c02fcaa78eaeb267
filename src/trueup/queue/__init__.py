"""The exception queue as people work it: the actions (`trueup.queue.actions.QueueActions`), shared by the
CLI (`trueup exceptions …`) and the web dashboard."""

from trueup.queue.actions import ActionResult, QueueActions, QueueError, Selection

__all__ = ["ActionResult", "QueueActions", "QueueError", "Selection"]
