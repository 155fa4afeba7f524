"""Pipeline steps inside a worker: reading what a file holds (inspect), checking meshes (checks), changing them
(transform), and setting a Geometry Nodes input per branch (variant). Steps that change the scene save a copy of the
file for the steps after them (state), since the next step may run in another worker.
"""
