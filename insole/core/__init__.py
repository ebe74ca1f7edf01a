"""The pure signal path: plain synchronous numpy/scipy code with explicit state.

Lives here: calibration, clocks, contact events, per-step loads, `pipeline`, `summary`, `alerts`
and the foot geometry they need (`layouts`, `moticon`). May import: `firmware_protocol` and
`insole.errors` only (no transport, screen or storage).

Everything here is shared by live, replay and offline analysis (docs/domain.md "Invariants" 1, 2
and 5): offline functions are the streaming objects fed once, and results never depend on how the
input was split into chunks.
"""

from insole.core.events import Contact, ContactDetector, Contacts, detect_contacts

__all__ = ["Contact", "ContactDetector", "Contacts", "detect_contacts"]
