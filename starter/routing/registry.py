"""The journey registry: every journey found in OVERTURE_JOURNEY_MODULES, indexed by event.

The worker, the API and `overture simulate` all build it once from the same settings, so they
agree on which journeys exist and which events each one starts or listens to.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from collections.abc import Iterable, Iterator, Sequence
from types import ModuleType

from workflows.journey import Journey
from workflows.spec import JourneyDefinitionError, JourneySpec


class JourneyRegistry:
    """Journeys by name, and per event name the journeys it triggers and those that listen."""

    def __init__(self, journeys: Iterable[type[Journey]]) -> None:
        self._journeys: dict[str, type[Journey]] = {}
        for cls in journeys:
            existing = self._journeys.get(cls.spec.name)
            if existing is not None and existing is not cls:
                raise JourneyDefinitionError(
                    f"two journeys are named {cls.spec.name!r}: {_where(existing)} and {_where(cls)}"
                )
            self._journeys[cls.spec.name] = cls
        self._triggered: dict[str, list[JourneySpec]] = {}
        self._listening: dict[str, list[JourneySpec]] = {}
        for spec in self.specs:
            if spec.trigger:
                self._triggered.setdefault(spec.trigger, []).append(spec)
            for name in sorted(spec.listens - {spec.trigger}):
                self._listening.setdefault(name, []).append(spec)

    @classmethod
    def from_modules(cls, module_names: Sequence[str]) -> JourneyRegistry:
        """Import each module (a package brings its submodules) and collect its journeys."""
        found: list[type[Journey]] = []
        for module in _import_all(module_names):
            for _, member in inspect.getmembers(module, inspect.isclass):
                if issubclass(member, Journey) and member is not Journey and member.__module__ == module.__name__:
                    found.append(member)
        return cls(found)

    @property
    def specs(self) -> list[JourneySpec]:
        """Every journey's declaration, sorted by name."""
        return [self._journeys[name].spec for name in sorted(self._journeys)]

    @property
    def workflows(self) -> list[type[Journey]]:
        """The journey workflow classes, for the worker."""
        return [self._journeys[name] for name in sorted(self._journeys)]

    def get(self, name: str) -> type[Journey] | None:
        """The journey class called `name`, if registered."""
        return self._journeys.get(name)

    def triggered_by(self, event_name: str) -> list[JourneySpec]:
        """Journeys this event enters a customer into."""
        return self._triggered.get(event_name, [])

    def listening_to(self, event_name: str) -> list[JourneySpec]:
        """Journeys (other than those it triggers) whose running instances want this event."""
        return self._listening.get(event_name, [])


def _import_all(module_names: Sequence[str]) -> Iterator[ModuleType]:
    for name in module_names:
        try:
            module = importlib.import_module(name)
        except ImportError as error:
            raise JourneyDefinitionError(
                f"cannot import journey module {name!r} (OVERTURE_JOURNEY_MODULES): {error}"
            ) from error
        yield module
        if hasattr(module, "__path__"):
            for info in pkgutil.walk_packages(module.__path__, prefix=f"{name}."):
                yield importlib.import_module(info.name)


def _where(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"
