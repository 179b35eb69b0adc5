"""The six Dyn-Bench tasks and the three dimensions they measure."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Task:
    name: str
    dimension: str
    kind: str  # "qa" or "mask"

    @property
    def metric(self) -> str:
        return "accuracy" if self.kind == "qa" else "j&f"


DIMENSIONS = ("camera_object", "inter_object", "object_scene")
DIMENSION_TITLES = {
    "camera_object": "Camera-Object",
    "inter_object": "Inter-Object",
    "object_scene": "Object-Scene",
}

TASKS: dict[str, Task] = {
    t.name: t
    for t in (
        Task("cameraqa", "camera_object", "qa"),
        Task("cameramask", "camera_object", "mask"),
        Task("qa", "inter_object", "qa"),
        Task("objmask", "inter_object", "mask"),
        Task("sceneqa", "object_scene", "qa"),
        Task("scenemask", "object_scene", "mask"),
    )
}
TASK_ORDER = tuple(TASKS)


def parse_task_list(text: str | None) -> tuple[str, ...]:
    """Parse ``--task cameraqa,qa``; names are exact, unknown names are an error."""
    if not text:
        return TASK_ORDER
    names = tuple(dict.fromkeys(n.strip() for n in text.split(",") if n.strip()))
    unknown = [n for n in names if n not in TASKS]
    if unknown:
        raise ValueError(
            f"unknown task(s) {', '.join(unknown)}; choose from {', '.join(TASK_ORDER)}"
        )
    return names
