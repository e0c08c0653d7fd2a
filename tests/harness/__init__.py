"""What the tests build on: the in-process hub rig (``hub``), the real server and device
processes (``server_process``, ``device_process``), the link-cutting proxy (``flaky_proxy``) and
the test photos (``face_images``)."""
