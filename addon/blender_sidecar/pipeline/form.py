"""The pipeline's JSON form as the editor sees it (docs/pipeline.md), no bpy, in four parts:

- catalog.py: the node types, their sockets and settings (from the sidecar's table, tables.json, dressed by fields.py);
- codecs.py: a setting's value between a node property and JSON;
- import_checks.py: what keeps a graph's JSON from becoming nodes;
- templates.py: the shipped templates, and what the editor reads from a graph without making nodes.

This module gathers their public names, as the editor's modules and the tests use them (`form.NODE_TYPES`).
"""

from .catalog import (  # noqa: F401
    BY_IDNAME,
    BY_TYPE,
    EMPTY,
    KINDS,
    NODE_TYPES,
    SOCKET_IDS,
    SOCKET_LABELS,
    SPREADS,
    TREE_ID,
    VERSION,
    NodeType,
    Setting,
    written,
)
from .codecs import format_list, from_json, get, number, parse_list, put, to_json  # noqa: F401
from .fields import CHECK_LEVELS, CHECKS, ENGINES, MOVIE_CODECS, OUTPUT_HELP  # noqa: F401
from .import_checks import check_importable, describe  # noqa: F401
from .templates import (  # noqa: F401
    TEMPLATE_FOLDER,
    auto_locations,
    output_folder,
    read_json,
    template_dirs,
    templates,
    uses_base_dir,
    without_ui,
)
from ..tables import EXPORT_FORMAT_ITEMS as EXPORT_FORMATS  # noqa: F401
from ..tables import IMAGE_FORMAT_ALIASES  # noqa: F401
from ..tables import IMAGE_FORMAT_ITEMS as IMAGE_FORMATS  # noqa: F401
