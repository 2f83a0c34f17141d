"""What every explorer shares: controls that can be set from code, an output it redraws, a record of what it
showed, and a plain message instead of a traceback when the input cannot be shown.

An explorer builds its controls (ipywidgets) and names them in :attr:`Explorer.controls`. Any change to a
control redraws: :meth:`Explorer.compute` works out what to show (and raises for input it cannot show),
:meth:`Explorer.show` draws it into the Output widget, and :attr:`Explorer.state` keeps what was shown, so a
notebook cell can change a control and assert on ``state`` straight after (ipywidgets calls observers
synchronously in the kernel).
"""
from __future__ import annotations

import contextlib
import html

import torch

from ..errors import GptlabError


class ExplorerError(GptlabError, ValueError):
    """Input an explorer cannot show (an empty prompt, a layer that does not exist ...): the message is shown
    in the explorer's output, for the person at the keyboard."""


# What bad input raises, here and in the functions the explorers call (the tokenizers, the model's checks,
# SamplingSettings). Anything else is a bug and keeps its traceback.
INPUT_PROBLEMS = (GptlabError, ValueError, TypeError, LookupError)


@contextlib.contextmanager
def evaluating(model):
    """Eval mode and no gradients for a look at the model, its training mode restored afterwards."""
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            yield
    finally:
        model.train(was_training)


class Explorer:
    """The base of the explorers; a subclass builds ``self.controls`` and calls :meth:`_build`."""

    controls: dict

    def _build(self, rows) -> None:
        import ipywidgets as widgets

        self.output = widgets.Output()
        self.state: dict = {}
        self.redraws = 0
        self._holding = False
        for control in self.controls.values():
            control.observe(self._on_change, names="value")
        self.widget = widgets.VBox([*rows, self.output])

    def compute(self) -> dict:
        """What the controls' values show, as a dict (no drawing); raises :class:`ExplorerError` for bad input."""
        raise NotImplementedError

    def show(self, info: dict) -> None:
        """Draw ``info`` (what :meth:`compute` returned) into the output widget."""
        raise NotImplementedError

    def set(self, **values) -> dict:
        """Set several controls by name (the names of :attr:`controls`), then redraw once; returns :attr:`state`.

        A value a control cannot take (a layer that does not exist) is explained in the output, like any
        other bad input.
        """
        unknown = set(values) - set(self.controls)
        if unknown:
            raise TypeError(f"{type(self).__name__}.set() got {', '.join(sorted(unknown))}; "
                            f"the controls are {', '.join(self.controls)}")
        problem = None
        with self._hold():
            for name, value in values.items():
                if value is None:
                    continue
                problem = problem or self._refusal(name, value)
                if problem is None:
                    self.controls[name].value = value
        self.redraw(problem)
        return self.state

    def redraw(self, problem: str | None = None) -> None:
        """Recompute and draw; bad input shows its message instead (and ``state["error"]`` holds it)."""
        from IPython.display import clear_output

        info = None
        if problem is None:
            try:
                info = self.compute()
            except INPUT_PROBLEMS as e:
                problem = str(e)
        self.redraws += 1
        with self.output:
            clear_output(wait=True)
            if problem is None:
                self.show(info)
            else:
                _show_problem(problem)
        self.state = dict(info or {}, error=problem, redraws=self.redraws)

    def _refusal(self, name: str, value) -> str | None:
        """Why control ``name`` cannot take ``value`` (None: it can). Selections accept only their options."""
        options = getattr(self.controls[name], "options", None)
        if options is None:
            return None
        values = [o[1] if isinstance(o, tuple) else o for o in options]
        if value in values:
            return None
        return f"{name} {value!r} does not exist here: choose one of {', '.join(map(str, values))}"

    def _on_change(self, change) -> None:
        if not self._holding:
            self.redraw()

    @contextlib.contextmanager
    def _hold(self):
        """Change several controls without a redraw for each."""
        self._holding = True
        try:
            yield
        finally:
            self._holding = False

    def _ipython_display_(self):
        from IPython.display import display

        display(self.widget)
        self.redraw()


def _show_problem(message: str) -> None:
    from IPython.display import HTML, display

    display(HTML(f'<div class="gptlab-problem" style="color:#a40000;white-space:pre-wrap">'
                 f'\u26a0 {html.escape(message)}</div>'))
