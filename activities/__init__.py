"""All I/O. The activities journeys call live here (`send_message.py`, `journey_support.py`);
what they use lives beside them: `store/` (the database), `sending/` (sending policy) and
`providers/` (one module per way of delivering a message). The worker wires them together in
starter/runtime/activities.py."""
