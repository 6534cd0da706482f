"""Hooks for the apps above thirdparty (nothing here imports them).

`meta_deletion_requested(sender, request: MetaDeletionRequest, subject_id: int)`: sent on commit
when Meta forwarded a Facebook user's deletion request and the person is known here. The DSAR app
connects to it to open a full erasure request; thirdparty itself has already queued the vendor jobs.
"""

from __future__ import annotations

from django.dispatch import Signal

meta_deletion_requested = Signal()
