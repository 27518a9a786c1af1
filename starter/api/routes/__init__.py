"""One `APIRouter` per resource, each with its prefix and tags."""
