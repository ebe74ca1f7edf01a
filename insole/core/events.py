"""Contact detection: heel strike (initial contact) and toe-off from per-foot total force.

One causal streaming detector, :class:`ContactDetector`, is the only implementation;
:func:`detect_contacts` is that detector fed once. The input is the total vertical force under one
foot (the sum of an insole's sensors), a one-sensor footswitch in ADC counts, or a force plate
under a runner: only *relative* levels matter, so any unit proportional to force works.

Algorithm (the evidence behind each choice and the validation on real recordings are in
``docs/events.md``):

1. **Find a contact robustly** with relative, adaptive thresholds and hysteresis: the loaded
   level is the median peak of the recent contacts, the swing level is local. Tekscan F-Scan
   uses min + 10 % of the force range; a fixed absolute threshold fails on insoles whose swing
   level is not zero.
2. **Time it at the initial contact.** From the on-crossing, go back to the last sample at or
   below the swing's noise floor (the swing level, a robust line through the swing, plus
   ``max(floor_sd_k`` × noise SD, ``floor_fraction`` × range``)``), interpolated. The line along
   a steep rising edge only bounds it. Toe-off symmetrically, forward to the noise floor of the
   swing after it. A touch that falls back before the main rise (a scuff) is not the initial
   contact; a first phase that stays up is.
3. **No step lost.** A contact much longer than usual is re-cut at clear valleys (turns that
   unload only part-way, lifts shorter than the bridging gate). A contact still loaded after
   ``max_contact_s`` ends in standing: reported once, with its heel strike and a toe-off flagged
   invalid. Contacts cut by the start or end of the stream are counted, not reported.
4. **Gates.** Spikes shorter than ``min_contact_s`` are discarded; dips that come back within
   ``max(refractory_s, min_swing_s)`` are chatter and continue the contact.
5. **Lost samples** on a rising edge: the heel strike is placed by matching the samples seen
   with the rising edges of the last contacts seen whole.
6. **Early heel strikes**: once the edge is seen up to ``edge_fraction`` of the range (or 20 ms
   after the on-crossing), the heel strike is final and `ContactDetector.pop_heel_strikes`
   returns it, before the contact is emitted at toe-off.

A contact is emitted once it is final: after its toe-off plus the bridging look-ahead. Every
decision depends on sample indices only, so results are identical for any chunking of the input.

References
----------
Tekscan F-Scan: contact threshold at min + 10 % of the force range (DESIGN.md §2).
Blades et al. (2023), Sensors 23:2736: insole vs force treadmill in running, 200 Hz, foot-contact
MAE 1.0 ms, foot-off MAE 5.2 ms -- the accuracy to match.
Catalfamo et al. (2008): 22-42 ms event errors of older insole methods in walking.
Hodges & Bui (1996): onset at baseline + 3 SD.
"""

from __future__ import annotations

import math
import statistics
from collections import deque
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import overload

import numpy as np
from numpy.typing import ArrayLike, NDArray

try:  # pragma: no cover - errors.py is owned by another module; keep working without it
    from insole.errors import InsoleError as _ErrorBase
except ImportError:  # pragma: no cover
    _ErrorBase = Exception  # type: ignore[assignment,misc]

__all__ = [
    "Contact",
    "ContactDetector",
    "Contacts",
    "DetectorParameterError",
    "detect_contacts",
]

FloatArray = NDArray[np.float64]

#: Percentiles of the bootstrap window that bound the swing (low) and loaded (high) levels.
_BOOTSTRAP_PERCENTILES = (2.0, 98.0)
#: Least width at half prominence of an impact peak [s] (and at least 2 samples): impact
#: transients last tens of ms; narrower maxima are noise spikes (force plates show 1-sample ones).
_IMPACT_MIN_WIDTH_S = 0.010
#: First window length [samples] of the growing crossing search (cost stays O(distance)).
_SEARCH_WINDOW = 64


class DetectorParameterError(_ErrorBase, ValueError):  # type: ignore[valid-type,misc]
    """A detector parameter or input array is invalid.

    Parameters
    ----------
    message : str
        One line naming the argument and the fix.
    parameter : str
        Name of the offending argument.

    Attributes
    ----------
    parameter : str
        Name of the offending argument.
    """

    def __init__(self, message: str, *, parameter: str) -> None:
        super().__init__(message)
        self.parameter = parameter


@dataclass(frozen=True, slots=True)
class Contact:
    """One foot contact, from heel strike (initial contact) to toe-off.

    Times are seconds from the first sample fed to the detector (sample index / sampling rate);
    indices are fractional sample indices of the same instants.

    Attributes
    ----------
    heel_strike_s : float
        Initial contact [s].
    toe_off_s : float
        Toe-off [s].
    heel_strike_index : float
        Initial contact as a fractional sample index.
    toe_off_index : float
        Toe-off as a fractional sample index.
    peak_force_n : float
        Largest force of the contact, in the input's unit (N for insoles and force plates).
    impact_peak_n : float or None
        Force of the heel impact peak, or None when the contact has none.
    impact_peak_s : float or None
        Time of the heel impact peak [s], or None.
    toe_off_valid : bool
        False when the contact ended in standing (still loaded ``max_contact_s`` after the
        heel strike): the heel strike is a real step, the toe-off is where the detector stopped
        waiting, and the contact time is left out of contact-time statistics.
    """

    heel_strike_s: float
    toe_off_s: float
    heel_strike_index: float
    toe_off_index: float
    peak_force_n: float
    impact_peak_n: float | None
    impact_peak_s: float | None
    toe_off_valid: bool = True

    @property
    def contact_s(self) -> float:
        """Contact time [s]: toe-off minus heel strike."""
        return self.toe_off_s - self.heel_strike_s


class Contacts:
    """Contacts of one signal as arrays, built from a list of :class:`Contact`.

    Parameters
    ----------
    contacts : sequence of Contact
        Contacts in time order.

    Attributes
    ----------
    heel_strike_s, toe_off_s : ndarray of float, shape (n_contacts,)
        Event times [s].
    heel_strike_index, toe_off_index : ndarray of float, shape (n_contacts,)
        Event times as fractional sample indices.
    peak_force_n : ndarray of float, shape (n_contacts,)
        Peak force of each contact.
    impact_peak_n, impact_peak_s : ndarray of float, shape (n_contacts,)
        Impact peak force and time; NaN where a contact has no impact peak.
    toe_off_valid : ndarray of bool, shape (n_contacts,)
        False where the contact ended in standing (see `Contact`).
    """

    __slots__ = (
        "_contacts",
        "toe_off_valid",
        "heel_strike_s",
        "toe_off_s",
        "heel_strike_index",
        "toe_off_index",
        "peak_force_n",
        "impact_peak_n",
        "impact_peak_s",
    )

    def __init__(self, contacts: Sequence[Contact] = ()) -> None:
        self._contacts: tuple[Contact, ...] = tuple(contacts)

        def column(name: str) -> FloatArray:
            values = [getattr(c, name) for c in self._contacts]
            return np.array([np.nan if v is None else v for v in values], dtype=np.float64)

        self.heel_strike_s = column("heel_strike_s")
        self.toe_off_s = column("toe_off_s")
        self.heel_strike_index = column("heel_strike_index")
        self.toe_off_index = column("toe_off_index")
        self.peak_force_n = column("peak_force_n")
        self.impact_peak_n = column("impact_peak_n")
        self.impact_peak_s = column("impact_peak_s")
        self.toe_off_valid = np.array([c.toe_off_valid for c in self._contacts], dtype=bool)

    @property
    def contact_s(self) -> FloatArray:
        """Contact time of each contact [s]."""
        return self.toe_off_s - self.heel_strike_s

    @property
    def swing_s(self) -> FloatArray:
        """Time from each toe-off to the next heel strike [s], shape (n_contacts - 1,).

        For an insole this is the swing of that foot; for one force plate under a runner it is
        the flight time.
        """
        return self.heel_strike_s[1:] - self.toe_off_s[:-1]

    def to_list(self) -> list[Contact]:
        """Return the contacts as a list of :class:`Contact`."""
        return list(self._contacts)

    def __len__(self) -> int:
        return len(self._contacts)

    def __iter__(self) -> Iterator[Contact]:
        return iter(self._contacts)

    @overload
    def __getitem__(self, index: int) -> Contact: ...

    @overload
    def __getitem__(self, index: slice) -> Contacts: ...

    def __getitem__(self, index: int | slice) -> Contact | Contacts:
        if isinstance(index, slice):
            return Contacts(self._contacts[index])
        return self._contacts[index]

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Contacts):
            return NotImplemented
        return self._contacts == other._contacts

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"Contacts(n={len(self)})"


def detect_contacts(
    force_n: ArrayLike,
    *,
    sampling_rate_hz: float,
    on_fraction: float = 0.10,
    off_fraction: float | None = None,
    min_contact_s: float = 0.1,
    max_contact_s: float = 3.0,
    min_swing_s: float = 0.1,
    refractory_s: float = 0.1,
    bootstrap_s: float = 3.0,
    n_level_contacts: int = 5,
    extrapolate: bool = True,
    edge_fraction: float = 0.3,
    impact_window_fraction: float = 0.35,
    impact_prominence_fraction: float = 0.05,
    lowpass_hz: float | None = None,
    floor_sd_k: float = 3.0,
    floor_fraction: float = 0.03,
    valley_fraction: float = 0.25,
    min_valley_s: float = 0.04,
    split_factor: float = 1.6,
) -> Contacts:
    """Detect foot contacts (heel strike to toe-off) in a total vertical force signal.

    This is :class:`ContactDetector` fed the whole signal at once, followed by
    :meth:`ContactDetector.finish`; streaming over any chunking gives the same contacts.

    Parameters
    ----------
    force_n : array_like, shape (n_samples,)
        Total vertical force under one foot (or on one force plate). Any unit proportional to
        force works (N, ADC counts); NaN samples never start or end a contact.
    sampling_rate_hz : float
        Sampling rate [Hz].
    on_fraction : float, default 0.10
        On-threshold as a fraction of the swing-to-loaded range (Tekscan: 10 %; tune 5-20 %).
    off_fraction : float or None, default None
        Off-threshold fraction (hysteresis); None means ``0.75 * on_fraction``.
    min_contact_s : float, default 0.1
        Rises above the on-threshold shorter than this are spikes and are discarded (running
        contacts last 0.25-0.30 s, about 0.2 s at the fastest paces).
    max_contact_s : float, default 3.0
        Longer contacts are not reported: standing, not a step. Walking stance is about 60 %
        of a 1.0-1.3 s stride (under 1.1 s even in pathological gait); a pivot in a turn can
        take about 2 s.
    min_swing_s : float, default 0.1
        Shortest plausible swing, measured between threshold crossings: shorter dips are
        bridged. Healthy swing lasts about 0.4 s in walking and running, but swings of
        0.13-0.2 s occur in Parkinson's and Huntington's gait. On one force plate under a
        runner the gap is the flight (about 0.1 s): pass ``min_swing_s=0`` there.
    refractory_s : float, default 0.1
        Refractory period after a toe-off: a return above the on-threshold within this time is
        chatter and continues the contact (DESIGN.md §2: about 100 ms).
    bootstrap_s : float, default 3.0
        Length of the first window, whose 2nd and 98th percentiles give the starting levels;
        also the longest stretch of a swing used to measure its level.
    n_level_contacts : int, default 5
        Number of recent contacts whose median peak sets the loaded level.
    extrapolate : bool, default True
        Extrapolate each edge to the swing level; if False, report the interpolated on- and
        off-threshold crossings.
    edge_fraction : float, default 0.3
        Level, as a fraction of the range, of the second crossing that, with the on-threshold
        crossing, defines the rising edge line. (The falling edge line uses the off-threshold
        and twice its height.)
    impact_window_fraction : float, default 0.35
        An impact peak is a local maximum within this fraction of the contact, before the
        contact's main (largest) peak.
    impact_prominence_fraction : float, default 0.05
        Least prominence of an impact peak, as a fraction of the contact's peak force.
    lowpass_hz : float or None, default None
        If given, a causal 2nd-order Butterworth low-pass at this cut-off is applied first (NaN
        samples are held at the last finite value) and its low-frequency group delay is
        subtracted from all reported times.
    floor_sd_k : float, default 3.0
        The heel strike is where the rise leaves the swing's noise floor: the swing level plus
        ``max(floor_sd_k`` × the swing noise SD, ``floor_fraction`` × the range``)``. 3 SD of
        the baseline is the usual onset criterion (Hodges & Bui 1996).
    floor_fraction : float, default 0.03
        Least height of the noise floor above the swing level, as a fraction of the
        swing-to-loaded range. Force-plate practice puts contact at 10-50 N (Blades et al.
        2023), 0.5-3 % of a 1.7-2 kN running range; the upper end keeps the slow upward creep
        of footswitch swings (1-2 % of the range in the 0.1 s before contact, PhysioNet
        gaitndd) below the floor.
    valley_fraction : float, default 0.25
        A contact much longer than usual is re-cut where the force falls below the swing level
        plus this fraction of the range (a partly unloaded step in a turn). Walking stance dips
        to 60-80 % of body weight between its peaks (Perry & Burnfield 2010), so a stance
        never dips that low.
    min_valley_s : float, default 0.04
        Least time below that level for a valley to cut a contact.
    split_factor : float, default 1.6
        A contact is searched for valleys when it lasts longer than this multiple of the median
        of the last contacts (stance time varies by a few % from stride to stride: Hausdorff
        et al. 2000), or longer than ``max_contact_s``.

    Returns
    -------
    Contacts
        The complete contacts, in time order.

    Raises
    ------
    DetectorParameterError
        If a parameter is out of range or ``force_n`` is not one-dimensional.

    See Also
    --------
    ContactDetector : the streaming form.

    Examples
    --------
    >>> import numpy as np
    >>> fs = 200.0
    >>> t = np.arange(int(10 * fs)) / fs
    >>> force = np.clip(np.sin(2 * np.pi * (t - 0.2) / 0.7), 0, None) * 1500.0  # 0.35 s contacts
    >>> contacts = detect_contacts(force, sampling_rate_hz=fs)
    >>> len(contacts), round(float(contacts.contact_s[0]), 2)
    (14, 0.35)
    """
    detector = ContactDetector(
        sampling_rate_hz=sampling_rate_hz,
        on_fraction=on_fraction,
        off_fraction=off_fraction,
        min_contact_s=min_contact_s,
        max_contact_s=max_contact_s,
        min_swing_s=min_swing_s,
        refractory_s=refractory_s,
        bootstrap_s=bootstrap_s,
        n_level_contacts=n_level_contacts,
        extrapolate=extrapolate,
        edge_fraction=edge_fraction,
        impact_window_fraction=impact_window_fraction,
        impact_prominence_fraction=impact_prominence_fraction,
        lowpass_hz=lowpass_hz,
        floor_sd_k=floor_sd_k,
        floor_fraction=floor_fraction,
        valley_fraction=valley_fraction,
        min_valley_s=min_valley_s,
        split_factor=split_factor,
    )
    contacts = detector.feed(force_n)
    contacts += detector.finish()
    return Contacts(contacts)


@dataclass(slots=True)
class _OpenContact:
    """Book-keeping of the contact being tracked (absolute sample indices)."""

    on_index: int  # first sample at or above the on-threshold
    on_n: float  # on-threshold that opened the contact
    off_n: float  # off-threshold of this contact
    level_n: float  # median force of the preceding swing: the off-threshold's reference
    base_n: float  # level just before the contact: the heel strike is extrapolated to it
    earliest_index: int  # last sample before the contact at or below base_n
    drop: bool  # never reported: in progress at the start, or too long
    off_index: int | None = None  # candidate toe-off: first sample below the off-threshold
    checks: int = 0  # stuck-contact checks done so far
    #: First sample of the swing searched before the contact; the buffer holds the samples
    #: from the one before it on, whatever the chunking.
    swing_lo: int = 0
    floor_n: float = math.nan  # noise floor of the swing before: base + max(k SD, fraction)
    t_floor: float = math.nan  # where the rise leaves the noise floor (fractional index)
    noise_n: float = 0.0  # robust SD of the swing noise before the contact
    margin_n: float = 0.0  # height of the noise floor above the swing level
    #: Lost samples between the last sample at the floor and the on-crossing: (last sample at
    #: the floor, first sample seen after the loss).
    gap: tuple[float, float] | None = None
    t_hs: float | None = None  # heel strike once certain (emitted early)
    emitted: bool = False  # already reported (a contact that ended in standing)
    scan: int = 0  # where the search for the early heel strike's edge goes on


class ContactDetector:
    """Streaming contact detector with explicit state; offline use is this object fed once.

    Parameters are stored verbatim; see :func:`detect_contacts` for their meaning.

    Parameters
    ----------
    sampling_rate_hz : float
        Sampling rate [Hz].
    on_fraction : float, default 0.10
        On-threshold as a fraction of the swing-to-loaded range.
    off_fraction : float or None, default None
        Off-threshold fraction; None means ``0.75 * on_fraction``.
    min_contact_s : float, default 0.1
        Shorter rises above the on-threshold are discarded as spikes.
    max_contact_s : float, default 3.0
        Longer contacts are not reported.
    min_swing_s : float, default 0.1
        Shorter dips below the off-threshold are bridged.
    refractory_s : float, default 0.1
        Refractory period after a toe-off (also bridges shorter dips).
    bootstrap_s : float, default 3.0
        Bootstrap window and swing-level horizon [s].
    n_level_contacts : int, default 5
        Contacts in the running estimate of the loaded level.
    extrapolate : bool, default True
        Extrapolate edges to the swing level.
    edge_fraction : float, default 0.3
        Second crossing level of the rising edge line.
    impact_window_fraction : float, default 0.35
        Impact peak window, as a fraction of the contact.
    impact_prominence_fraction : float, default 0.05
        Least impact-peak prominence relative to the peak force.
    lowpass_hz : float or None, default None
        Optional causal low-pass cut-off [Hz]; its group delay is compensated.
    floor_sd_k, floor_fraction : float
        Noise floor of the swing that timing goes back to.
    valley_fraction, min_valley_s, split_factor : float
        Re-cutting of long contacts at clear valleys.

    Notes
    -----
    :meth:`feed` emits a contact only once it is final: after its toe-off has been followed by
    ``max(refractory_s, min_swing_s)`` below the on-threshold. The Python-level loop runs over
    threshold crossings only; the search between crossings is vectorised.

    Examples
    --------
    >>> import numpy as np
    >>> fs = 200.0
    >>> t = np.arange(int(10 * fs)) / fs
    >>> force = np.clip(np.sin(2 * np.pi * (t - 0.2) / 0.7), 0, None) * 1500.0  # 0.35 s contacts
    >>> detector = ContactDetector(sampling_rate_hz=fs)
    >>> contacts = []
    >>> for chunk in np.array_split(force, 400):  # 25 ms chunks
    ...     contacts += detector.feed(chunk)
    >>> contacts += detector.finish()
    >>> len(contacts)
    14
    """

    def __init__(
        self,
        *,
        sampling_rate_hz: float,
        on_fraction: float = 0.10,
        off_fraction: float | None = None,
        min_contact_s: float = 0.1,
        max_contact_s: float = 3.0,
        min_swing_s: float = 0.1,
        refractory_s: float = 0.1,
        bootstrap_s: float = 3.0,
        n_level_contacts: int = 5,
        extrapolate: bool = True,
        edge_fraction: float = 0.3,
        impact_window_fraction: float = 0.35,
        impact_prominence_fraction: float = 0.05,
        lowpass_hz: float | None = None,
        floor_sd_k: float = 3.0,
        floor_fraction: float = 0.03,
        valley_fraction: float = 0.25,
        min_valley_s: float = 0.04,
        split_factor: float = 1.6,
    ) -> None:
        self.sampling_rate_hz = sampling_rate_hz
        self.on_fraction = on_fraction
        self.off_fraction = off_fraction
        self.min_contact_s = min_contact_s
        self.max_contact_s = max_contact_s
        self.min_swing_s = min_swing_s
        self.refractory_s = refractory_s
        self.bootstrap_s = bootstrap_s
        self.n_level_contacts = n_level_contacts
        self.extrapolate = extrapolate
        self.edge_fraction = edge_fraction
        self.impact_window_fraction = impact_window_fraction
        self.impact_prominence_fraction = impact_prominence_fraction
        self.lowpass_hz = lowpass_hz
        self.floor_sd_k = floor_sd_k
        self.floor_fraction = floor_fraction
        self.valley_fraction = valley_fraction
        self.min_valley_s = min_valley_s
        self.split_factor = split_factor
        self._check_parameters()
        #: Contacts in progress at the start or at the end of the stream (not reported), and
        #: early heel strikes of contacts that turned out to be spikes. Kept across `finish`.
        self.cut_at_start_ = 0
        self.cut_at_end_ = 0
        self.retracted_heel_strikes_ = 0
        self.reset()

    # ------------------------------------------------------------------ public API

    def reset(self) -> ContactDetector:
        """Forget all state and start a new stream.

        Returns
        -------
        ContactDetector
            This detector.
        """
        fs = float(self.sampling_rate_hz)
        self._off_frac = (
            0.75 * self.on_fraction if self.off_fraction is None else float(self.off_fraction)
        )
        self._bootstrap_n = max(2, round(self.bootstrap_s * fs))
        self._bridge_n = max(1, round(max(self.refractory_s, self.min_swing_s) * fs))
        self._min_contact_n = round(self.min_contact_s * fs)
        self._max_contact_n = round(self.max_contact_s * fs)
        self._sos: FloatArray | None = None
        self._zi: FloatArray | None = None
        self._last_finite = math.nan
        self._delay_samples = 0.0
        if self.lowpass_hz is not None:
            from scipy import signal  # only for the optional filter: slow to import

            self._sos = signal.butter(2, self.lowpass_hz, fs=fs, output="sos")
            b, a = signal.sos2tf(self._sos)
            # Group delay near DC, where most of a contact's energy is (about 1 % of cut-off).
            _, delay = signal.group_delay((b, a), w=[0.01 * self.lowpass_hz], fs=fs)
            self._delay_samples = float(delay[0])
        self._buf: FloatArray = np.empty(0, dtype=np.float64)
        self._buf_start = 0  # absolute index of self._buf[0]
        self._n_seen = 0  # absolute index of the next sample
        self._pos = 0  # absolute index where the search continues
        self._state = "boot"  # "boot", "swing" or "contact"
        self._swing_start = 0
        self._track_start = 0  # first sample of the current tracking (after a (re)start)
        self._open: _OpenContact | None = None
        self._peaks: deque[float] = deque(maxlen=self.n_level_contacts)
        # Recent (upper-crossing - heel strike) delays of contacts seen whole, to place a heel
        # strike whose threshold crossing fell into lost samples.
        self._leads: dict[str, deque[float]] = {
            k: deque(maxlen=_LEAD_HISTORY) for k in ("on", "upper", "impact", "peak")
        }
        # Rising edges of recent contacts seen whole: (offsets from heel strike [samples],
        # force above the contact's base as a fraction of the range), for the same purpose.
        self._edges: deque[tuple[FloatArray, FloatArray]] = deque(maxlen=_EDGE_HISTORY)
        self._edge_pre_n = max(2, round(_EDGE_PRE_S * fs))
        self._edge_post_n = max(4, round(_EDGE_POST_S * fs))
        self._durations: deque[int] = deque(maxlen=_DURATION_HISTORY)
        self._valley_n = max(1, round(self.min_valley_s * fs))
        self._certain_n = max(1, round(_CERTAIN_S * fs))
        self._latency_n = _MAX_DATA_S * fs - 1.5  # samples after the floor onset, with margin
        self._noise_n = max(8, round(_NOISE_WINDOW_S * fs))
        #: Heel strikes emitted as soon as certain (see `pop_heel_strikes`).
        self._early: list[float] = []
        self._low = math.nan  # swing level after the last toe-off
        self._high = math.nan  # median peak of the recent contacts
        self._on = math.nan
        return self

    @property
    def levels_n_(self) -> tuple[float, float] | None:
        """Current (swing level, loaded level), or None before the bootstrap is complete."""
        if self._state == "boot":
            return None
        return (self._low, self._high)

    @property
    def thresholds_n_(self) -> tuple[float, float] | None:
        """Current (on-threshold, off-threshold), or None before the bootstrap is complete."""
        if self._state == "boot":
            return None
        return (self._on, self._low + self._off_frac * (self._high - self._low))

    @property
    def delay_s_(self) -> float:
        """Group delay of the optional low-pass filter [s], subtracted from reported times."""
        return self._delay_samples / float(self.sampling_rate_hz)

    def feed(self, force_n: ArrayLike) -> list[Contact]:
        """Process the next chunk of samples.

        Parameters
        ----------
        force_n : array_like, shape (n_samples,)
            The next samples of the force signal; any length, including 0 and 1.

        Returns
        -------
        list of Contact
            Contacts completed by this chunk, in time order.

        Raises
        ------
        DetectorParameterError
            If ``force_n`` is not one-dimensional.
        """
        chunk = np.asarray(force_n, dtype=np.float64)
        if chunk.ndim != 1:
            raise DetectorParameterError(
                f"force_n must be one-dimensional (one foot), got shape {chunk.shape}; "
                "pass each foot's total force separately",
                parameter="force_n",
            )
        if chunk.size == 0:
            return []
        chunk = self._filter(chunk)
        self._buf = np.concatenate((self._buf, chunk))
        self._n_seen += chunk.size
        return self._advance(final=False)

    def finish(self) -> list[Contact]:
        """End the stream: return the contacts that were waiting for look-ahead, then reset.

        A contact whose toe-off has not been seen is dropped.

        Returns
        -------
        list of Contact
            The remaining complete contacts.
        """
        out = self._advance(final=True)
        self.reset()
        return out

    # ------------------------------------------------------------------ internals

    def _check_parameters(self) -> None:
        def fail(name: str, requirement: str) -> None:
            value = getattr(self, name)
            message = f"{name} must be {requirement}, got {value!r}"
            raise DetectorParameterError(message, parameter=name)

        if not (np.isfinite(self.sampling_rate_hz) and self.sampling_rate_hz > 0):
            fail("sampling_rate_hz", "a positive number")
        if not 0 < self.on_fraction < 1:
            fail("on_fraction", "between 0 and 1 (typically 0.05-0.20)")
        if self.off_fraction is not None and not 0 < self.off_fraction <= self.on_fraction:
            fail("off_fraction", "None or in (0, on_fraction]")
        for name in ("min_contact_s", "min_swing_s", "refractory_s"):
            if not getattr(self, name) >= 0:
                fail(name, "a non-negative duration in seconds")
        if not self.max_contact_s > self.min_contact_s:
            fail("max_contact_s", "longer than min_contact_s")
        if not self.bootstrap_s > 0:
            fail("bootstrap_s", "a positive duration in seconds (a few strides, e.g. 3.0)")
        if not (isinstance(self.n_level_contacts, int) and self.n_level_contacts >= 1):
            fail("n_level_contacts", "a positive integer")
        if not self.on_fraction < self.edge_fraction < 1:
            fail("edge_fraction", "between on_fraction and 1")
        if not 0 < self.impact_window_fraction <= 1:
            fail("impact_window_fraction", "in (0, 1]")
        if not self.impact_prominence_fraction >= 0:
            fail("impact_prominence_fraction", "non-negative")
        if not self.floor_sd_k >= 0:
            fail("floor_sd_k", "non-negative (typically 3)")
        if not 0 <= self.floor_fraction < self.on_fraction:
            fail("floor_fraction", "in [0, on_fraction)")
        if not self.on_fraction < self.valley_fraction < 1:
            fail("valley_fraction", "between on_fraction and 1")
        if not self.min_valley_s >= 0:
            fail("min_valley_s", "a non-negative duration in seconds")
        if not self.split_factor > 1:
            fail("split_factor", "greater than 1")
        if self.lowpass_hz is not None and not 0 < self.lowpass_hz < self.sampling_rate_hz / 2:
            fail("lowpass_hz", "None or between 0 and half the sampling rate")

    def _filter(self, chunk: FloatArray) -> FloatArray:
        """Apply the optional causal low-pass, carrying its state across chunks."""
        if self._sos is None:
            return chunk
        from scipy import signal

        finite = np.isfinite(chunk)
        if not finite.all():  # hold the last finite value: a NaN would poison the IIR state
            held = np.where(finite, np.arange(chunk.size), -1)
            np.maximum.accumulate(held, out=held)
            chunk = np.where(held >= 0, chunk[np.maximum(held, 0)], self._last_finite)
        if np.isfinite(chunk[-1]):
            self._last_finite = float(chunk[-1])
        out = np.full(chunk.size, np.nan)
        start = 0
        if self._zi is None:
            finite_at = np.flatnonzero(np.isfinite(chunk))
            if finite_at.size == 0:
                return out  # nothing finite yet
            start = int(finite_at[0])
            # Start in steady state at the first finite sample: no start-up transient.
            self._zi = signal.sosfilt_zi(self._sos) * chunk[start]
        out[start:], self._zi = signal.sosfilt(self._sos, chunk[start:], zi=self._zi)
        return out

    def _x(self, start: int, stop: int) -> FloatArray:
        """Return the samples with absolute indices [start, stop)."""
        assert start >= self._buf_start, "internal error: sample already discarded"
        return self._buf[start - self._buf_start : stop - self._buf_start]

    def _set_levels(self, low: float, high: float) -> None:
        self._low, self._high = low, high
        self._on = low + self.on_fraction * (high - low)

    def _window_levels(self, start: int, stop: int) -> tuple[float, float]:
        """Robust (swing level, loaded level) of the samples [start, stop).

        The loaded level is the 98th percentile. The swing level is the median of the samples
        below the midpoint of the 2nd and 98th percentiles: the centre of the swing's noise
        band, not its bottom, so that the off-threshold clears the swing noise.
        """
        window = self._x(start, stop)
        window = window[np.isfinite(window)]
        if window.size < 2:
            return math.nan, math.nan
        bottom, high = (float(v) for v in np.percentile(window, _BOOTSTRAP_PERCENTILES))
        lower = window[window <= 0.5 * (bottom + high)]
        return _median(lower), high

    def _start_at(self, index: int) -> None:
        """Start tracking at sample ``index`` with the current levels."""
        first = self._buf[index - self._buf_start]
        off = self._low + self._off_frac * (self._high - self._low)
        if first >= off:  # a contact in progress: it is never reported
            self._open = _OpenContact(index, self._on, off, self._low, self._low, index, True)
            self._state = "contact"
        else:
            self._open = None
            self._state = "swing"
            self._swing_start = index
        self._pos = index + 1
        self._track_start = index

    def _bootstrap(self, final: bool) -> bool:
        """Set the starting levels from the first window with a non-zero range."""
        while self._state == "boot":
            stop = self._pos + self._bootstrap_n
            if stop > self._n_seen:
                if not final or self._n_seen - self._pos < 2:
                    return False
                stop = self._n_seen
            low, high = self._window_levels(self._pos, stop)
            if high > low:  # False for NaN too
                self._set_levels(low, high)
                self._start_at(self._pos)
                return True
            self._pos = stop  # flat or empty window: skip it and try the next one
        return True

    def _first_crossing(self, start: int, stop: int, threshold: float, rising: bool) -> int:
        """First absolute index i in [start, stop) where the signal crosses ``threshold``.

        Rising: ``x[i] >= threshold`` and not ``x[i-1] >= threshold``. Falling:
        ``x[i] < threshold`` and not ``x[i-1] < threshold``. Returns -1 if none. The window grows
        geometrically, so the cost is proportional to the distance searched.
        """
        width = _SEARCH_WINDOW
        i = max(start, self._buf_start + 1)
        while i < stop:
            end = min(stop, i + width)
            seg = self._x(i - 1, end)
            side = seg >= threshold if rising else seg < threshold
            hits = side[1:] & ~side[:-1]
            k = int(np.argmax(hits))
            if hits[k]:
                return i + k
            i = end
            width *= 2
        return -1

    def _first_at_or_above(self, start: int, stop: int, level: float) -> int:
        """First absolute index i in [start, stop) with ``x[i] >= level``, or -1.

        Searched in growing windows, so the cost is proportional to the distance searched.
        """
        width = _SEARCH_WINDOW
        i = start
        while i < stop:
            end = min(stop, i + width)
            hits = self._x(i, end) >= level
            k = int(np.argmax(hits))
            if hits[k]:
                return i + k
            i = end
            width *= 2
        return -1

    def _next_check(self, cur: _OpenContact) -> int:
        """Sample index of the next stuck-contact check of ``cur``."""
        return cur.on_index + self._max_contact_n + cur.checks * self._bootstrap_n

    def _advance(self, final: bool) -> list[Contact]:
        out: list[Contact] = []
        if self._state == "boot" and not self._bootstrap(final):
            self._trim()
            return out
        n_end = self._n_seen
        while True:
            if self._state == "swing":
                j = self._first_crossing(self._pos, n_end, self._on, rising=True)
                if j < 0:
                    self._pos = n_end
                    break
                self._open_contact(j)
                self._pos = j + 1
                continue
            cur = self._open
            assert cur is not None
            if cur.off_index is None:
                check = self._next_check(cur)
                k = self._first_crossing(self._pos, min(n_end, check), cur.off_n, rising=False)
                if cur.t_hs is None and not cur.drop:  # its edge, up to where it may end
                    self._early_heel_strike(cur, k if k >= 0 else min(n_end, check))
                if k < 0:
                    if n_end >= check:
                        out += self._check_stuck(cur, check)
                        continue
                    self._pos = n_end
                    break
                if k - cur.on_index < self._min_contact_n and not cur.drop:
                    # A spike: discarded at once, so a contact right after it starts afresh.
                    if cur.t_hs is not None:
                        self.retracted_heel_strikes_ += 1
                    self._open = None
                    self._state = "swing"
                    self._pos = k + 1
                    continue
                cur.off_index = k
                self._pos = k + 1
            k = cur.off_index
            look_end = k + self._bridge_n  # a rise above `on` before this index bridges the dip
            m = self._first_crossing(self._pos, min(look_end, n_end), cur.on_n, rising=True)
            if m >= 0 and cur.emitted and not cur.drop:
                # The wearer stood (the contact was reported at max_contact_s) and lifted the
                # foot briefly: the rise after the lift is the next step, not chatter.
                self._swing_start = k
                self._open_contact(m)
                self._pos = m + 1
                continue
            if m >= 0 and not cur.drop and not cur.emitted and self._scuff(cur, k):
                # A light touch that fell back before the real contact (a toe scuffing in
                # swing): not a step, and not the start of the one that follows.
                if cur.t_hs is not None:
                    self.retracted_heel_strikes_ += 1
                self._open_contact(m)
                self._pos = m + 1
                continue
            if m >= 0:  # shorter than the refractory period / minimum swing: same contact
                cur.off_index = None
                self._pos = m + 1
                continue
            if n_end < look_end and not final:
                self._pos = n_end
                break
            look_end = min(look_end, n_end)
            out += self._close_contact(cur, k, look_end)
            if self._open is cur:
                self._open = None
                self._state = "swing"
            self._pos = look_end
            if final and look_end >= n_end:
                break
        if final and self._open is not None and not (self._open.drop or self._open.emitted):
            self.cut_at_end_ += 1  # in progress when the stream ends: counted, not reported
        self._trim()
        return out

    def pop_heel_strikes(self) -> list[float]:
        """Return the heel strikes [s] that became certain since the last call, and forget them.

        A heel strike is certain once its contact's rising edge has reached ``edge_fraction``
        of the range with every sample of the edge seen (no loss): its time then depends only
        on samples already fed, and it is exactly the heel strike of the `Contact` emitted
        later at toe-off. Edges with lost samples wait for the contact's end. Rarely, a contact
        announced this way turns out to be a spike (shorter than ``min_contact_s``); it is
        counted in ``retracted_heel_strikes_``.
        """
        out = [(t - self._delay_samples) / float(self.sampling_rate_hz) for t in self._early]
        self._early.clear()
        return out

    def _scuff(self, cur: _OpenContact, k: int) -> bool:
        """True if the contact [cur.on_index, k) never loaded above the middle of the range.

        Called when the force falls below the off-threshold and rises again within the
        look-ahead: a weight-bearing contact loads far above half the usual range; a touch
        that does not and falls back is a toe scuffing the ground in swing (common in
        Huntington's disease), not the initial contact of the step that follows.
        """
        mid = self._low + 0.5 * (self._high - self._low)
        seg = self._x(cur.on_index, k)
        if not np.isfinite(seg).any():
            return False
        return not bool(np.nanmax(seg) >= mid)

    def _is_long(self, n_samples: int) -> bool:
        """True if a contact of ``n_samples`` is much longer than the recent ones."""
        if n_samples > self._max_contact_n:
            return True
        if len(self._durations) < 3:
            return False
        return n_samples > self.split_factor * statistics.median(self._durations)

    def _valleys(self, cur: _OpenContact, j: int, k: int) -> list[tuple[int, int, int]]:
        """Clear valleys inside the contact [j, k): (first sample, end, index of the minimum).

        A valley is a stretch of at least ``min_valley_s`` below ``low + valley_fraction ·
        range``, not touching the contact's ends, with at least ``min_contact_s`` of contact on
        each side that loads above the middle of the range.
        """
        rng = self._high - self._low
        if not rng > 0 or k - j < 3:
            return []
        cut = self._low + self.valley_fraction * rng
        mid = self._low + 0.5 * rng
        x = self._x(j, k)
        below = x < cut
        d = np.diff(below.astype(np.int8))
        starts = np.flatnonzero(d == 1) + 1
        ends = np.flatnonzero(d == -1) + 1
        if below[0]:
            starts = np.concatenate(([0], starts))
        if below[-1]:
            ends = np.concatenate((ends, [x.size]))
        out: list[tuple[int, int, int]] = []
        prev = 0
        for a, b in zip(starts.tolist(), ends.tolist(), strict=True):
            if a == 0 or b == x.size or b - a < self._valley_n:
                continue
            if a - prev < self._min_contact_n or x.size - b < self._min_contact_n:
                continue
            left, right = x[prev:a], x[b:]
            if not (np.nanmax(left) >= mid and np.nanmax(right) >= mid):
                continue
            seg = x[a:b]
            if not np.any(np.isfinite(seg)):
                continue
            out.append((j + a, j + b, j + a + int(np.nanargmin(seg))))
            prev = b
        return out

    def _early_heel_strike(self, cur: _OpenContact, stop: int) -> None:
        """Fix the heel strike of ``cur`` once certain (see `pop_heel_strikes`).

        Certain means: the samples up to the first one at ``edge_fraction`` of the range, or
        ``_CERTAIN_S`` after the on-crossing if that comes first, are all seen. ``stop`` bounds
        the search (the contact may end there).
        """
        if not self.extrapolate:
            return
        upper = self._low + self.edge_fraction * (self._high - self._low)
        j = cur.on_index
        c_end = self._certain_end(cur)
        start = max(cur.scan, j)
        u: int | None = -1
        if upper > cur.on_n:
            u = self._first_at_or_above(start, min(stop, c_end + 1), upper)
        if u is None or u < 0:
            if min(stop, self._n_seen) <= c_end:
                cur.scan = max(start, min(stop, c_end + 1))
                return  # not yet certain
            u = None
        cur.scan = self._n_seen + self._max_contact_n  # decided: never look again
        if not self._edge_seen(cur, (c_end if u is None else u) + 1):
            return  # lost samples on the edge: placed at the contact's end
        t_hs = self._rising_edge(cur, u)
        if t_hs <= self._track_start:
            return  # began before the data: dropped at close
        cur.t_hs = t_hs
        self._early.append(t_hs)

    def _certain_end(self, cur: _OpenContact) -> int:
        """Last sample needed before the heel strike of ``cur`` is certain.

        ``_CERTAIN_S`` after the on-crossing, but no later than ``_MAX_DATA_S`` of data after
        the sample where the rise left the noise floor (so live feedback comes within 30 ms of
        the onset even on slow edges), and not before the on-crossing.
        """
        j = cur.on_index
        if not math.isfinite(cur.t_floor):
            return j + self._certain_n
        by_latency = math.floor(cur.t_floor + self._latency_n)
        return max(j, min(j + self._certain_n, by_latency))

    def _upper_index(self, cur: _OpenContact, stop: int) -> int | None:
        """First sample at ``edge_fraction`` of the range within the certainty window."""
        upper = self._low + self.edge_fraction * (self._high - self._low)
        if not upper > cur.on_n:
            return None
        end = min(stop, self._certain_end(cur) + 1)
        u = self._first_at_or_above(cur.on_index, end, upper)
        return None if u < 0 else u

    def _rising_edge(self, cur: _OpenContact, u: int | None) -> float:
        """Heel strike of a contact whose edge is seen whole.

        The initial contact is where the rise leaves the swing's noise floor
        (``cur.t_floor``). Where the edge is steep (``u``, its first sample at
        ``edge_fraction`` of the range, comes within ``_CERTAIN_S`` of the on-crossing), the
        line along it (the mean of the chord through the on-threshold and ``edge_fraction``
        crossings and the tangent at the on-crossing, back to the swing level) bounds it: a
        noise floor high above a steep edge is reached after the edge's foot. On slow edges the
        line lands late (Blades et al. 2023; the running force plate) and is not used.
        """
        j = cur.on_index
        on, base = cur.on_n, cur.base_n
        x0, x1 = float(self._x(j - 1, j)[0]), float(self._x(j, j + 1)[0])
        t_on = _interpolate(j - 1, x0, x1, on)
        t_hs = cur.t_floor if math.isfinite(cur.t_floor) else t_on
        t_line = math.nan
        if u is not None and u > j:
            upper = self._low + self.edge_fraction * (self._high - self._low)
            xu0, xu1 = float(self._x(u - 1, u)[0]), float(self._x(u, u + 1)[0])
            t_up = _interpolate(u - 1, xu0, xu1, upper)
            if t_up > t_on and on > base:
                chord = (upper - on) / (t_up - t_on)
                t_line = t_on - (on - base) / chord
                tangent = x1 - x0
                if tangent >= 0.5 * chord:
                    t_line = 0.5 * (t_line + t_on - (on - base) / tangent)
                # The line never reaches back past the last swing sample at the local level.
                t_hs = min(t_hs, max(t_line, float(cur.earliest_index)))
        if cur.gap is not None:
            # The rise left the floor somewhere in lost samples: the edge's line, or else the
            # first sample seen after the loss, within the loss. (Contacts after the first
            # few are placed by matching recent whole edges instead: `_match_edge`.)
            a, b = cur.gap
            t_hs = min(max(t_line if math.isfinite(t_line) else b, a), b)
        if cur.t_floor < cur.swing_lo and cur.swing_lo <= self._track_start:
            return float(self._track_start)  # rising already at the first sample: dropped
        t_hs = min(max(t_hs, float(cur.earliest_index)), t_on)
        released = self._released(cur, self._certain_end(cur) if u is None else u)
        return t_hs if released is None else released

    def _released(self, cur: _OpenContact, u: int) -> float | None:
        """Initial contact after a light touch that was released before the main rise.

        Between the on-crossing and the first sample at ``edge_fraction`` of the range (``u``),
        a touch that fell back by more than half its height above the swing floor (a toe
        scuffing the ground in swing) is not the initial contact of this step: the heel strike
        is where the main rise leaves that valley's floor (its minimum plus the noise margin).
        A first phase that stays up (a plateau before the main rise, as in some ALS strikes)
        falls back less and stays the initial contact. Returns None without such a valley.
        """
        seg = self._x(cur.on_index, u + 1)
        runmax = np.maximum.accumulate(seg)
        drop = runmax - seg
        v = int(np.argmax(drop))
        margin = cur.margin_n
        height = float(runmax[v]) - (cur.floor_n - margin)
        if not (drop[v] > 0.5 * height and drop[v] > margin):
            return None
        floor = float(seg[v]) + margin
        leave = np.flatnonzero(seg[v:] > floor)
        r = v + (int(leave[0]) if leave.size else 0)  # first sample above, relative
        return cur.on_index + _crossing(r - 1, float(seg[r - 1]), float(seg[r]), floor)

    def _check_stuck(self, cur: _OpenContact, check: int) -> list[Contact]:
        """Handle a contact still loaded at ``check`` (``max_contact_s``, then every window).

        First, clear valleys re-cut it (steps in turns that unload only part-way): the steps
        before the last valley are emitted and the contact goes on from the rise after it.
        Otherwise, if the signal still spans at least half the current swing-to-loaded range,
        it is still moving like gait and the contact is stuck because the levels are wrong
        (e.g. the swing level jumped above the off-threshold): restart from the levels of that
        window. Otherwise the wearer is standing: the contact is emitted once, with its heel
        strike and a toe-off flagged invalid (``toe_off_valid=False``) at ``check``.
        """
        out: list[Contact] = []
        self._pos = check
        if not cur.drop and not cur.emitted:
            valleys = self._valleys(cur, cur.on_index, check)
            if valleys:
                out += self._emit_pieces(cur, valleys, None, None)
                return out
        cur.checks += 1
        # The levels of the last window, without the contact's own rise: a wearer who steps
        # and stands is not a stuck detector.
        settled = cur.on_index + self._bridge_n
        w0 = max(check - self._bootstrap_n, settled)
        low, high = self._window_levels(w0, check)
        if high - low >= 0.5 * (self._high - self._low) and self._cycles(w0, check, low, high) >= 2:
            cur.drop = True
            self._peaks.clear()
            self._set_levels(low, high)
            self._start_at(check - 1)
            return out
        if not cur.drop and not cur.emitted:
            cur.emitted = True
            c = self._finish(cur, check - 1, check, standing=True)
            if c is not None:
                out.append(c)
        return out

    def _cycles(self, start: int, stop: int, low: float, high: float) -> int:
        """Rises through the middle of [low, high] in the samples [start, stop), with hysteresis.

        Gait keeps cycling (a stride every 1-1.3 s: two or more rises in a 3 s window); a
        wearer who stands and shifts weight once or twice does not.
        """
        x = self._x(start, stop)
        x = x[np.isfinite(x)]
        if x.size < 2 or not high > low:
            return 0
        up = x >= low + 0.6 * (high - low)
        down = x <= low + 0.4 * (high - low)
        state = np.where(up, 1, np.where(down, -1, 0))
        state = state[state != 0]
        return int(np.count_nonzero((state[1:] == 1) & (state[:-1] == -1)))

    def _emit_pieces(
        self,
        cur: _OpenContact,
        valleys: list[tuple[int, int, int]],
        k: int | None,
        look_end: int | None,
    ) -> list[Contact]:
        """Cut ``cur`` at ``valleys``; emit every piece before the last valley.

        Each valley ends the step before it where the fall reaches the valley's floor (its
        minimum plus the usual noise margin); the stretch from the valley's minimum to its end
        is the swing before the next step, which starts like any contact (its heel strike
        where the rise leaves that swing's noise floor). With ``k`` given (the contact's
        toe-off candidate), the last piece is emitted too; otherwise it stays open as the
        contact in progress.
        """
        out: list[Contact] = []
        opened = self._open
        margin = max(self.floor_sd_k * cur.noise_n, self.floor_fraction * (self._high - self._low))
        piece = cur
        for a, b, m in valleys:
            x = self._x(a - 1, m + 1)  # x[i] is sample a - 1 + i
            floor = float(x[-1]) + margin
            reach = np.flatnonzero(x <= floor)
            i = int(reach[0]) if reach.size else x.size - 1
            t_to = a - 1 + (_crossing(i - 1, float(x[i - 1]), float(x[i]), floor) if i else 0.0)
            c = self._finish(piece, a, m + 1, t_to=float(t_to))
            if c is not None:
                out.append(c)
            saved = self._swing_start
            self._swing_start = m
            self._open_contact(b)  # the next step, after the swing [m, b)
            self._swing_start = saved
            assert self._open is not None
            piece = self._open
        self._open = opened
        if k is not None and look_end is not None:
            c = self._finish(piece, k, look_end)
            if c is not None:
                out.append(c)
            return out
        # The rest stays open: the contact goes on from the last valley's rise.
        self._open = piece
        self._state = "contact"
        return out

    def _open_contact(self, j: int) -> None:
        """Enter the contact state at on-crossing sample ``j``; measure the preceding swing.

        Besides the levels of the swing, this finds where the rise leaves the swing's noise
        floor (``base + max(floor_sd_k · SD, floor_fraction · range)``): the last sample at or
        below it before ``j``, interpolated to the floor level. That needs only samples up to
        ``j``, so the heel strike is known as soon as the contact is certain.
        """
        lo = max(self._swing_start, j - self._bootstrap_n)
        swing = self._x(lo, j)
        finite = swing[np.isfinite(swing)]
        noise = 0.0
        slope, t_ref = 0.0, float(j)
        if finite.size:
            level = _median(finite)  # the whole swing: sets the off-threshold
            pre = swing[-self._bridge_n :]
            pre = pre[np.isfinite(pre)]
            base = _median(pre) if pre.size else level  # just before contact
            if swing.size < self._bridge_n:  # only right after a start: maybe a rising edge
                base = min(base, self._low)
            at_base = np.flatnonzero(swing <= base)
            earliest = lo + int(at_base[-1]) if at_base.size else lo
            recent = swing[-self._noise_n :]
            noise = _noise_sd(recent)
            floor_base = math.nan  # set below: by the swing's line, else its median
            # The swing level under the noise floor: a robust line through the swing (the
            # medians of its two halves, not falling), from the end of the previous push-off
            # to 0.1 s before the on-crossing, continued to the contact. The swings of some
            # footswitches creep upwards; a light first touch (tens of ms before the main rise)
            # is left out of the line.
            w_lo = max(lo, self._swing_start + self._bridge_n, j - self._noise_n)
            w_hi = j - self._bridge_n
            if w_hi - w_lo >= 6:
                wv = self._x(w_lo, w_hi)
                ok = np.isfinite(wv)
                vals = wv[ok]
                if vals.size >= 6:
                    idx = np.flatnonzero(ok).astype(np.float64) + w_lo
                    h = vals.size // 2
                    m1, m2 = _median(vals[:h]), _median(vals[h:])
                    c1, c2 = _sorted_median(idx[:h]), _sorted_median(idx[h:])
                    slope = max((m2 - m1) / (c2 - c1), 0.0)
                    floor_base, t_ref = m2, c2
            if math.isnan(floor_base):
                recent = recent[np.isfinite(recent)]
                floor_base = _median(recent) if recent.size else base
            if swing.size < self._bridge_n:  # only right after a start: maybe a rising edge
                floor_base = min(floor_base, self._low)
        else:
            level = base = floor_base = self._low
            earliest = lo
        off = min(level + self._off_frac * (self._high - level), self._on)
        margin = max(self.floor_sd_k * noise, self.floor_fraction * (self._high - self._low))
        cap = 0.5 * (floor_base + slope * (j - t_ref) + self._on)  # stays below the on-threshold
        floor = min(floor_base + margin + slope * (j - t_ref), cap)
        # The last sample at or below the floor line before j, searched backwards in growing
        # windows (the rise usually left the floor a few samples before the on-crossing).
        gap: tuple[float, float] | None = None
        hit = -1
        width = 16
        a = j
        while a > lo and hit < 0:
            a = max(lo, a - width)
            seg = self._x(a, j)
            line = floor_base + margin + slope * (np.arange(a, j) - t_ref)
            np.minimum(line, cap, out=line)
            below = np.flatnonzero(seg <= line)
            if below.size:
                hit = a + int(below[-1])
            width *= 2
        if hit >= 0:
            x = self._x(hit, j + 1)
            at_hit = float(min(floor_base + margin + slope * (hit - t_ref), cap))
            t_floor = hit + _crossing(0, float(x[0]), float(x[1]), at_hit)
            lost = np.flatnonzero(np.isnan(x[1:]))
            if lost.size:  # the floor crossing may be hidden in lost samples after sample hit
                gap = (float(hit), float(hit + 1 + int(lost[-1]) + 1))
        else:  # the rise began before the swing searched (at the start: before the data)
            t_floor = float(lo) - 1.0
        self._open = _OpenContact(
            j,
            self._on,
            off,
            level,
            base,
            earliest,
            False,
            swing_lo=lo,
            floor_n=floor,
            t_floor=t_floor,
            noise_n=noise,
            margin_n=margin,
            gap=gap,
        )
        self._state = "contact"

    def _close_contact(self, cur: _OpenContact, k: int, look_end: int) -> list[Contact]:
        """Finish the contact [cur.on_index, k); return its steps (none, one, or several).

        A contact much longer than usual is re-cut at clear valleys into several steps.

        ``look_end`` is the end of the look-ahead after the toe-off candidate ``k``.
        """
        j = cur.on_index
        n_samples = k - j
        if n_samples < self._min_contact_n and not cur.drop:
            if cur.t_hs is not None:
                self.retracted_heel_strikes_ += 1
            return []  # a spike: the swing goes on (self._swing_start unchanged)
        self._swing_start = k
        if cur.drop or cur.emitted or n_samples > self._max_contact_n:
            post_level = self._post_level(cur, k, look_end)
            if post_level < self._high:
                self._set_levels(post_level, self._high)
            return []
        if self._is_long(n_samples):
            valleys = self._valleys(cur, j, k)
            if valleys:
                return self._emit_pieces(cur, valleys, k, look_end)
        c = self._finish(cur, k, look_end)
        return [] if c is None else [c]

    def _post_level(self, cur: _OpenContact, k: int, look_end: int) -> float:
        """Median of the look-ahead after the toe-off candidate ``k``."""
        after = self._x(k, look_end)
        finite_after = after[np.isfinite(after)]
        return _median(finite_after) if finite_after.size else cur.base_n

    def _finish(
        self,
        cur: _OpenContact,
        k: int,
        look_end: int,
        *,
        t_to: float | None = None,
        standing: bool = False,
    ) -> Contact | None:
        """Measure the contact [cur.on_index, k) and return it (None: not reported).

        ``t_to`` fixes the toe-off (a step cut at a valley); ``standing`` marks a contact cut
        at ``k`` because the wearer stands (toe-off invalid). Either way the swing level is
        not updated from what follows ``k``.
        """
        j = cur.on_index
        n_samples = k - j
        piece = t_to is not None or standing
        post_level = self._low if piece else self._post_level(cur, k, look_end)
        x = self._x(j - 1, look_end)  # x[i] is sample j - 1 + i
        body = x[1 : n_samples + 1]  # samples j .. k - 1
        peak_rel = int(np.nanargmax(body))
        peak_n = float(body[peak_rel])
        on, off = cur.on_n, cur.off_n
        t_on = _interpolate(j - 1, x[0], x[1], on)
        t_off = _interpolate(k - 1, x[n_samples], x[n_samples + 1], off)
        # A crossing hidden in lost samples (NaN): continue the edge's first (last) two valid
        # samples to the threshold, no further back (on) than the gap reaches.
        if not np.isfinite(x[0]) and n_samples >= 2 and x[2] > x[1] > -np.inf:
            t_on = max(j - (x[1] - on) / (x[2] - x[1]), float(cur.earliest_index))
        if not np.isfinite(x[n_samples + 1]) and n_samples >= 2 and x[n_samples - 1] > x[n_samples]:
            slope = x[n_samples] - x[n_samples - 1]
            t_off = min(k - 1 + (off - x[n_samples]) / slope, float(look_end - 1))
        t_hs = t_on
        upper = self._low + self.edge_fraction * (self._high - self._low)
        edge = self.extrapolate and peak_n >= upper > on
        u = 0
        up_seen = False
        t_up = math.nan
        gap_before = not np.isfinite(x[0])
        if self.extrapolate:
            if cur.t_hs is not None:
                t_hs = cur.t_hs
            else:
                t_hs = self._rising_edge(cur, self._upper_index(cur, k))
            if edge:
                u = int(np.flatnonzero(body[: peak_rel + 1] >= upper)[0])
                up_seen = u >= 1 and bool(np.isfinite(x[u]))
                t_up = _interpolate(j + u - 1, x[u], x[u + 1], upper)
            if t_hs <= self._track_start:  # began before the data: in progress at the start
                self.cut_at_start_ += 1
                if post_level < self._high:
                    self._set_levels(post_level, self._high)
                return None
        if standing:
            t_to = float(k)
        elif t_to is None:
            t_to = t_off
            if self.extrapolate:
                t_to = self._toe_off(cur, k, look_end, t_off, peak_rel, body, x, post_level)
        impact = self._impact_peak(body, j, t_hs, t_to, peak_n)
        if edge and not piece or (edge and cur.t_hs is None):
            # Landmarks of the rising edge, and how long after the heel strike they come.
            marks = {
                "on": t_on,
                "upper": t_up if up_seen else None,
                "peak": float(j + peak_rel),
            }
            if impact is not None:
                marks["impact"] = impact[0]
            matched = None
            edge_seen = self._edge_seen(cur, j + u + 1)  # no sample lost up to `upper`
            if edge_seen and up_seen:
                for name, t in marks.items():
                    if t is not None and t > t_hs:
                        self._leads[name].append(t - t_hs)
                self._remember_edge(cur, t_hs, k)
            if not edge_seen:
                # Part of the rising edge fell into lost samples: match the samples seen with
                # the rising edges of recent whole contacts.
                matched = self._match_edge(cur, j, k)
            if matched is not None:
                t_hs = min(max(matched, float(cur.earliest_index) - 1.0), float(j))
            elif not gap_before and not up_seen:
                # The upper crossing was not seen (lost, or the edge jumped past it in one
                # sample): use the usual delay from heel strike to the (seen) on-crossing.
                if len(self._leads["on"]) >= 3:
                    t_hs = max(
                        t_on - statistics.median(self._leads["on"]), float(cur.earliest_index)
                    )
            elif gap_before:
                # The on-crossing fell into lost samples and too few edges are remembered yet:
                # place the heel strike the usual time before the first landmark seen after
                # the gap (median of recent whole contacts).
                for name in ("upper", "impact", "peak"):
                    t = marks.get(name)
                    if t is not None and len(self._leads[name]) >= 3:
                        t_hs = min(t - statistics.median(self._leads[name]), t_on)
                        t_hs = max(t_hs, float(cur.earliest_index))
                        break
            if cur.t_hs is not None:
                t_hs = cur.t_hs  # announced early: the same time, always
        if cur.t_hs is None:
            self._early.append(t_hs)  # certain only now (lost samples, or a small contact)
        self._peaks.append(peak_n)
        if not standing:
            self._durations.append(n_samples)
        high = statistics.median(self._peaks)
        self._set_levels(post_level if post_level < high else self._low, high)
        fs = float(self.sampling_rate_hz)
        delay = self._delay_samples
        hs_index, to_index = float(t_hs - delay), float(t_to - delay)
        return Contact(
            heel_strike_s=hs_index / fs,
            toe_off_s=to_index / fs,
            heel_strike_index=hs_index,
            toe_off_index=to_index,
            peak_force_n=peak_n,
            impact_peak_n=None if impact is None else impact[1],
            impact_peak_s=None if impact is None else (impact[0] - delay) / fs,
            toe_off_valid=not standing,
        )

    def _toe_off(
        self,
        cur: _OpenContact,
        k: int,
        look_end: int,
        t_off: float,
        peak_rel: int,
        body: FloatArray,
        x: FloatArray,
        post_level: float,
    ) -> float:
        """Toe-off: where the fall reaches the noise floor of the swing after the contact.

        Symmetric to the heel strike: the first sample at or below ``post_level + max(k · SD,
        fraction · range)`` after the off-crossing, interpolated; on a steep fall (from
        ``edge_fraction`` of the range to the off-threshold within ``_CERTAIN_S``, as for the
        heel strike) the line along the falling
        edge, on to the swing level, bounds it from below, where the floor sits high above a
        steep edge. On a slow, concave push-off tail the line lands early and is not used.
        """
        j = cur.on_index
        n_samples = k - j
        off = cur.off_n
        after = x[n_samples:]  # sample k - 1 onwards
        noise = _noise_sd(after[1:])
        floor = post_level + max(
            self.floor_sd_k * noise, self.floor_fraction * (self._high - self._low)
        )
        floor = min(floor, 0.5 * (post_level + off))
        t_to = t_off
        reach = np.flatnonzero(after[1:] <= floor)
        if reach.size:
            i = k + int(reach[0])
            prev = float(x[i - j]) if i > k else float(x[n_samples])
            t_to = max(t_off, _crossing(i - 1, prev, float(x[i - j + 1]), floor))
        second = 2.0 * off - cur.level_n  # twice the off-threshold's height
        peak_n = float(body[peak_rel])
        if peak_n >= second > off:
            d2 = peak_rel + int(np.flatnonzero(body[peak_rel:] >= second)[-1])
            t2 = _interpolate(j + d2, x[d2 + 1], x[d2 + 2], second)
            upper = self._low + self.edge_fraction * (self._high - self._low)
            high_part = np.flatnonzero(body[peak_rel:] >= upper)
            steep = bool(high_part.size) and k - (j + peak_rel + int(high_part[-1])) <= (
                self._certain_n
            )
            if t_off > t2 and off > post_level and steep:
                t_line = t_off + (t_off - t2) * (off - post_level) / (second - off)
                t_to = max(t_to, t_line)
        reached = np.flatnonzero(x[n_samples + 1 :] <= post_level)
        latest = k + int(reached[0]) if reached.size else look_end - 1
        return max(min(t_to, float(latest)), t_off)

    def _remember_edge(self, cur: _OpenContact, t_hs: float, k: int) -> None:
        """Keep the rising edge of a contact seen whole (heel strike ``t_hs``, toe-off ``k``)."""
        rng = self._high - self._low
        a = math.floor(t_hs) - self._edge_pre_n
        b = math.floor(t_hs) + self._edge_post_n + 1
        if not rng > 0 or a < max(cur.swing_lo - 1, self._buf_start) or b > k:
            return
        seg = self._x(a, b)
        if not np.all(np.isfinite(seg)):
            return
        offsets = np.arange(a, b, dtype=np.float64) - t_hs
        self._edges.append((offsets, (seg - cur.base_n) / rng))

    def _edge_start(self, cur: _OpenContact) -> int:
        """First sample of the stretch just before ``cur`` that edge matching looks at."""
        return max(cur.earliest_index - self._edge_pre_n, cur.swing_lo - 1, self._buf_start)

    def _edge_seen(self, cur: _OpenContact, stop: int) -> bool:
        """True if no sample is lost from just before the contact up to index ``stop``."""
        return bool(np.all(np.isfinite(self._x(self._edge_start(cur), stop))))

    def _match_edge(self, cur: _OpenContact, j: int, k: int) -> float | None:
        """Heel strike of a contact whose rising edge is partly hidden in lost samples.

        The samples seen around the gap are compared, for heel strikes on a grid of a tenth of
        a sample between the last swing sample at the base level and the first sample above
        the on-threshold, with the rising edges of the last contacts seen whole; the heel
        strike is the median of the best shifts of the three closest edges. Returns None with
        fewer than three edges remembered.
        """
        rng = self._high - self._low
        if len(self._edges) < 3 or not rng > 0:
            return None
        lo_hs = float(cur.earliest_index) - 1.0
        hi_hs = float(j)
        a = self._edge_start(cur)
        span = min(float(off[-1]) for off, _ in self._edges)
        b = min(math.floor(lo_hs + span) + 1, k)
        if b <= j:
            return None
        seg = self._x(a, b)
        ok = np.isfinite(seg)
        idx = np.arange(a, b, dtype=np.float64)[ok]
        y = (seg[ok] - cur.base_n) / rng
        shifts = np.arange(lo_hs, hi_hs + 1e-9, 0.1)
        tau = idx[None, :] - shifts[:, None]
        fits = []
        for off, val in self._edges:
            model = np.interp(tau, off, val, left=0.0)
            sse = np.sum((model - y) ** 2, axis=1)
            best = int(np.argmin(sse))
            fits.append((float(sse[best]), float(shifts[best])))
        fits.sort()
        return statistics.median(s for _, s in fits[:_EDGE_BEST])

    def _impact_peak(
        self, body: FloatArray, j: int, t_hs: float, t_to: float, peak_n: float
    ) -> tuple[float, float] | None:
        """Return (absolute index, force) of the impact peak, or None."""
        if body.size < 3 or not np.all(np.isfinite(body)):
            return None
        min_width = max(2.0, _IMPACT_MIN_WIDTH_S * float(self.sampling_rate_hz))
        peaks = _find_peaks(body.tolist(), self.impact_prominence_fraction * abs(peak_n), min_width)
        if len(peaks) < 2:
            return None  # an impact peak needs a later, larger main peak
        limit = t_hs + self.impact_window_fraction * (t_to - t_hs)
        main = max(peaks, key=lambda i: (body[i], -i))  # the main (largest, first) peak
        inside = [i for i in peaks if i < main and t_hs < j + i <= limit]
        if not inside:
            return None  # no maximum before the main peak within the window
        best = max(inside, key=lambda i: (body[i], -i))
        return float(j + best), float(body[best])

    def _trim(self) -> None:
        """Drop buffered samples that no pending decision can need."""
        keep = self._pos - 1
        cur = self._open
        if self._state == "swing":
            keep = max(self._swing_start, self._pos - self._bootstrap_n) - 1
        elif self._state == "contact" and cur is not None:
            # The stuck-contact check needs its window; a spike needs the swing before it.
            window = max(self._next_check(cur) - self._bootstrap_n, cur.on_index)
            if cur.drop:
                keep = self._pos - 1 if cur.off_index is None else cur.off_index - 1
            else:
                keep = max(self._swing_start, cur.on_index - self._bootstrap_n) - 1
            keep = min(keep, window)
        elif self._state == "boot":
            keep = self._pos
        keep = max(keep, self._buf_start)
        if keep > self._buf_start:
            self._buf = self._buf[keep - self._buf_start :].copy()
            self._buf_start = keep


#: Contacts whose rise time (heel strike to the upper crossing) is remembered.
_LEAD_HISTORY = 9
#: Contacts whose rising edge is remembered, and the part of it kept: from this long before
#: the heel strike [s] to this long after it [s].
_EDGE_HISTORY = 15
_EDGE_PRE_S = 0.015
_EDGE_POST_S = 0.08
#: Closest remembered edges whose best heel strikes are averaged (median).
_EDGE_BEST = 3


#: Contacts whose duration is remembered for the long-contact test.
_DURATION_HISTORY = 9
#: Time after the on-crossing within which a rising edge counts as steep enough for its line
#: to bound the heel strike, and after which a heel strike is certain [s]. Impact edges rise
#: from 10 % to 30 % of the range in 2-10 ms (running force plate, 300 Hz; the simulator's
#: midfoot edges in about 15 ms); a whole edge that takes longer is slow and its line lands
#: late. 20 ms keeps live heel-strike events within 30 ms of their onset (issue "Core v2").
_CERTAIN_S = 0.020
#: Most data after the onset sample before a heel strike is announced [s]: live feedback on
#: each step needs it within 30 ms (issue "Core v2": heel-strike events p99 <= 30 ms).
_MAX_DATA_S = 0.030
#: Length of swing before a contact whose noise is measured [s].
_NOISE_WINDOW_S = 0.5


def _noise_sd(a: FloatArray) -> float:
    """Robust SD of the noise of a swing stretch, insensitive to slow drift and a few outliers.

    The median absolute first difference scaled to a Gaussian SD: ``1.4826 · MAD / sqrt(2)``
    (the difference of two independent samples has twice the variance).
    """
    a = a[np.isfinite(a)]
    if a.size < 3:
        return 0.0
    d = np.abs(np.diff(a))
    return float(1.4826 * _median(d) / math.sqrt(2.0))


def _crossing(i0: int, x0: float, x1: float, level: float) -> float:
    """Fractional position in [i0, i0 + 1] where the segment from x0 to x1 meets ``level``.

    A non-finite or flat segment gives ``i0``.
    """
    if not (math.isfinite(x0) and math.isfinite(x1)) or x1 == x0:
        return float(i0)
    frac = (level - x0) / (x1 - x0)
    return float(i0) + min(max(frac, 0.0), 1.0)


def _find_peaks(x: list[float], prominence: float, width: float) -> list[int]:
    """Local maxima of ``x`` with at least this prominence and width at half prominence.

    The same peaks as ``scipy.signal.find_peaks(x, prominence=prominence, width=width)``
    (flat tops give their middle sample; prominence against the lowest point before a higher
    sample on each side; width between the interpolated crossings of half the prominence), in
    plain Python for the short arrays of one contact, where the scipy call's overhead dominates
    and importing ``scipy.signal`` costs most of a process's start-up.
    """
    n = len(x)
    out: list[int] = []
    i = 1
    while i < n - 1:
        if x[i - 1] < x[i]:
            ahead = i + 1
            while ahead < n - 1 and x[ahead] == x[i]:
                ahead += 1
            if x[ahead] < x[i]:
                peak = (i + ahead - 1) // 2
                xp = x[peak]
                # Prominence: lowest point on each side before a higher sample.
                lo = peak
                left_min, left_base = xp, peak
                while lo > 0 and x[lo - 1] <= xp:
                    lo -= 1
                    if x[lo] < left_min:
                        left_min, left_base = x[lo], lo
                hi = peak
                right_min, right_base = xp, peak
                while hi < n - 1 and x[hi + 1] <= xp:
                    hi += 1
                    if x[hi] < right_min:
                        right_min, right_base = x[hi], hi
                prom = xp - max(left_min, right_min)
                if prom >= prominence:
                    height = xp - 0.5 * prom
                    a = peak
                    while left_base < a and height < x[a]:
                        a -= 1
                    left_ip = float(a)
                    if x[a] < height:
                        left_ip += (height - x[a]) / (x[a + 1] - x[a])
                    b = peak
                    while b < right_base and height < x[b]:
                        b += 1
                    right_ip = float(b)
                    if x[b] < height:
                        right_ip -= (height - x[b]) / (x[b - 1] - x[b])
                    if right_ip - left_ip >= width:
                        out.append(peak)
                i = ahead
        i += 1
    return out


def _sorted_median(a: FloatArray) -> float:
    """Median of a non-empty 1-D array already in ascending order (as `_median`)."""
    n = a.shape[0]
    k = n // 2
    if n % 2:
        return float(a[k])
    return float((a[k - 1] + a[k]) / 2.0)


def _median(a: FloatArray) -> float:
    """Median of a non-empty 1-D array (as `numpy.median`, with less call overhead)."""
    n = a.shape[0]
    k = n // 2
    if n % 2:
        return float(np.partition(a, k)[k])
    part = np.partition(a, (k - 1, k))
    return float((part[k - 1] + part[k]) / 2.0)


def _interpolate(i0: int, x0: float, x1: float, level: float) -> float:
    """Fractional index where the line from (i0, x0) to (i0 + 1, x1) meets ``level``."""
    if not (np.isfinite(x0) and np.isfinite(x1)) or x1 == x0:
        return float(i0 + 1)
    frac = (level - x0) / (x1 - x0)
    return float(i0) + min(max(float(frac), 0.0), 1.0)
