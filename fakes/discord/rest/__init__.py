"""The fake Discord's REST routes (``/api/v10/...``), one module per resource."""
