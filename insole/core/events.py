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
   contact; a first phase that stays up is, unless it stays below ``edge_fraction`` for longer
   than a loading response (the foot rested in swing: the heel strike is at the main rise). A
   contact that never loads above the middle of the range is no step (a touch, a sensor's
   rebound after toe-off).
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

A contact is emitted once it is final: after its toe-off plus the bridging look-ahead (and at
least 0.1 s of the swing after it, or up to the next rise, whose level times the toe-off). Every
decision depends on sample indices only, so results are identical for any chunking of the input.

The per-sample and per-contact work runs in compiled kernels (`insole.core._events_kernel`,
numba, cached on disk; ``docs/events.md``, "Implementation"); this module holds their state and
builds the results.

References
----------
Tekscan F-Scan: contact threshold at min + 10 % of the force range (docs/domain.md "Events").
Blades et al. (2023), Sensors 23:2736: insole vs force treadmill in running, 200 Hz, foot-contact
MAE 1.0 ms, foot-off MAE 5.2 ms -- the accuracy to match.
Catalfamo et al. (2008): 22-42 ms event errors of older insole methods in walking.
Hodges & Bui (1996): onset at baseline + 3 SD.
"""

from __future__ import annotations

import math
import os
import sys
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from types import ModuleType
from typing import TypedDict, Unpack, overload

import numpy as np
from numpy.typing import ArrayLike, NDArray

from insole.errors import InsoleError

__all__ = [
    "ContactOptions",
    "Contact",
    "ContactDetector",
    "ContactRows",
    "Contacts",
    "DetectorParameterError",
    "PLATE_UNDER_BOTH_FEET",
    "detect_contacts",
]

FloatArray = NDArray[np.float64]

#: The swing's level after a toe-off (the noise floor the toe-off is timed at) is measured over
#: this long after the off-crossing, or the bridge (``max(refractory_s, min_swing_s)``) if
#: longer, or up to the next rise above the on-threshold where that comes first [s]: the
#: shortest swing of a foot (0.1 s, ``min_swing_s``). With a shorter bridge (one plate under
#: both feet, `PLATE_UNDER_BOTH_FEET`) the 20 ms after the off-crossing still hold the tail of
#: the push-off: measured there, the running plate's (RBDS001) median contact time was 14 ms
#: shorter (270 against the plate's 279 ms at 50 N; 284 ms with the 0.1 s window).
_SWING_LEVEL_S = 0.1
#: Percentiles of the bootstrap window that bound the swing (low) and loaded (high) levels.
_BOOTSTRAP_PERCENTILES = (2.0, 98.0)
#: Least width at half prominence of an impact peak [s] (and at least 2 samples): impact
#: transients last tens of ms; narrower maxima are noise spikes (force plates show 1-sample ones).
_IMPACT_MIN_WIDTH_S = 0.010


class DetectorParameterError(InsoleError, ValueError):
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
        heel strike), was still in progress when the stream ended, or a loss could hide its
        contact time (``ContactDetector.contact_time_lost_``: a loss as long as the shortest
        swing inside or right before it, or where the detector cut a long contact at one):
        the heel strike is a real step, the toe-off is where the detector stopped waiting (or
        the last sample, or the first lost one), and the contact time is left out of
        contact-time statistics.
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


@dataclass(slots=True, eq=False, repr=False)
class ContactRows:
    """Contacts as arrays straight from the detector, without one object per contact.

    What `ContactDetector.feed_rows` and `ContactDetector.finish_rows` return: the same numbers
    as the `Contact` objects of `ContactDetector.feed` (``impact_peak_n`` and
    ``impact_peak_s`` NaN where a contact has no impact peak). The pipeline uses it: a run
    over an hour of data makes about 10,000 contacts, whose objects cost more than their
    detection.

    Attributes
    ----------
    heel_strike_index, toe_off_index : ndarray of float, shape (n_contacts,)
        Event times as fractional sample indices (from the first sample fed).
    peak_force_n, impact_peak_n, impact_peak_s : ndarray of float, shape (n_contacts,)
        Peak force; impact peak force and time [s] (NaN: none).
    toe_off_valid : ndarray of bool, shape (n_contacts,)
        False where the contact ended in standing, was cut by the end of the stream, or a
        loss could hide its contact time (see `Contact`).
    sampling_rate_hz : float
        The detector's rate (index / rate = time [s]).

    Iterating gives the `Contact` objects `ContactDetector.feed` would have returned.
    """

    heel_strike_index: FloatArray
    toe_off_index: FloatArray
    peak_force_n: FloatArray
    impact_peak_n: FloatArray
    impact_peak_s: FloatArray
    toe_off_valid: NDArray[np.bool_]
    sampling_rate_hz: float

    def __len__(self) -> int:
        return int(self.heel_strike_index.size)

    def __iter__(self) -> Iterator[Contact]:
        fs = self.sampling_rate_hz
        for hs_i, to_i, peak, imp_n, imp_s, ok in zip(
            self.heel_strike_index.tolist(),
            self.toe_off_index.tolist(),
            self.peak_force_n.tolist(),
            self.impact_peak_n.tolist(),
            self.impact_peak_s.tolist(),
            self.toe_off_valid.tolist(),
            strict=True,
        ):
            none = math.isnan(imp_n)
            yield Contact(
                heel_strike_s=hs_i / fs,
                toe_off_s=to_i / fs,
                heel_strike_index=hs_i,
                toe_off_index=to_i,
                peak_force_n=peak,
                impact_peak_n=None if none else imp_n,
                impact_peak_s=None if none else imp_s,
                toe_off_valid=ok,
            )


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
        False where the contact ended in standing or was cut by the end or a loss (see
        `Contact`).
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


class ContactOptions(TypedDict, total=False):
    """The detector's keyword options, for ``**options`` (`detect_contacts`, the pipeline).

    Their defaults are those of `ContactDetector`; their meaning and sources are in
    `detect_contacts`.
    """

    on_fraction: float
    off_fraction: float | None
    min_contact_s: float
    max_contact_s: float
    min_swing_s: float
    refractory_s: float
    bootstrap_s: float
    n_level_contacts: int
    extrapolate: bool
    edge_fraction: float
    impact_window_fraction: float
    impact_prominence_fraction: float
    lowpass_hz: float | None
    floor_sd_k: float
    floor_fraction: float | None
    valley_fraction: float
    min_valley_s: float
    split_factor: float
    unloaded_level: float | None
    max_swing_load: float


#: Options for one force plate under both feet (a treadmill's plate; ``insole import table
#: --side both``, a C3D plate of side ``both``), which the analysis uses for such a device: its
#: gap between contacts is the flight, not a foot's swing. In running, stance lasts about 40 %
#: of the gait cycle when jogging and 22 % when sprinting (Novacheck 1998, Gait & Posture
#: 7:77; Perry & Burnfield 2010), so the flight between two contacts is (50 % − stance) of
#: the cycle: about 70 ms at a jogging cycle of 0.7 s, under 40 ms for a slow runner whose
#: stance takes 45 %. The default bridge of a foot's swing (``min_swing_s`` and
#: ``refractory_s`` of 0.1 s) merged such contacts: the real running plate (RBDS001, 2.5 m/s)
#: has flights of 84-104 ms at 50 N, and the same record 1.25 or 1.5 × faster (flights of
#: 69 or 59 ms) lost 3 and 10 steps of 77 (92.2 and 87.0 % of onsets within 10 ms). A
#: plate's chatter is held off by the hysteresis (on / off thresholds): a bridge of 20 ms
#: finds all 77 contacts in every one of those, with white noise of 20, 50 or 100 N SD added
#: too (two seeds each; 0.05 s lost steps at 100 N, 0.01 and 0 s timed more of them more
#: than 10 ms off), 2026-12-07.
PLATE_UNDER_BOTH_FEET: ContactOptions = {"min_swing_s": 0.0, "refractory_s": 0.02}


def detect_contacts(
    force_n: ArrayLike, *, sampling_rate_hz: float, **options: Unpack[ContactOptions]
) -> Contacts:
    """Detect foot contacts (heel strike to toe-off) in a total vertical force signal.

    This is :class:`ContactDetector` fed the whole signal at once, followed by
    :meth:`ContactDetector.finish`; streaming over any chunking gives the same contacts.
    ``options`` are its keyword parameters (`ContactOptions`), each documented below with
    the default `ContactDetector` gives it.

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
        runner the gap is the flight (35-100 ms): pass `PLATE_UNDER_BOTH_FEET` there (the
        analysis does for a device marked ``plate_under_both_feet``).
    refractory_s : float, default 0.1
        Refractory period after a toe-off: a return above the on-threshold within this time is
        chatter and continues the contact (docs/domain.md "Events": about 100 ms).
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
    floor_fraction : float or None, default None
        Least height of the noise floor above the swing level, as a fraction of the
        swing-to-loaded range. Force-plate practice puts contact at 10-50 N (Blades et al.
        2023), 0.5-3 % of a 1.7-2 kN running range. None means 0.02 with ``unloaded_level``
        (force in N: a foot in the air reads zero plus noise, so the middle of that span) and
        0.03 without it (the upper end: it keeps the slow upward creep of footswitch swings,
        1-2 % of the range in the 0.1 s before contact in PhysioNet gaitndd, below the floor).
    valley_fraction : float, default 0.25
        A contact much longer than usual is re-cut where the force falls below the swing level
        plus this fraction of the range (a partly unloaded step in a turn). Walking stance dips
        to 60-80 % of body weight between its peaks (Perry & Burnfield 2010), so a stance
        never dips that low.
    min_valley_s : float, default 0.04
        Least time below that level for a valley to cut a contact.
    split_factor : float, default 1.5
        A contact is searched for valleys when it lasts longer than this multiple of the median
        of the last contacts, or longer than ``max_contact_s``. Stance time varies by a few %
        from stride to stride (CV 1.9 % in controls, 3.1 ± 1.3 % in Huntington's disease,
        Gaßner et al. 2020), so 1.5 × is far outside it; but the median of the last 9 rises by
        up to 20 % after the slow steps of a turn, where a shuffle's two steps bridged into
        one contact make only about 1.5 × it (1.6 until 2026-12-07).
    unloaded_level : float or None, default None
        The signal with the foot in the air, where the signal has a true zero: 0.0 for force in
        newtons (the pipeline passes it for insoles calibrated in N). None (unknown: footswitch
        voltages, uncalibrated counts with an offset) turns off the test below. When timing
        heel strikes, "in the air" is the lowest of the last 9 swings' levels, never below
        it: an insole's unloaded sensors may keep a residual load (docs/events.md, step 2).
    max_swing_load : float, default 0.5
        With ``unloaded_level``: a contact whose swing before it (the lower of the swing's
        median and its last 0.1 s) carried more than this fraction of the contact's peak, both
        above ``unloaded_level``, is no step but a weight shift while standing; it is counted
        (`ContactDetector.weight_shifts_`), not reported. Standing, each foot carries about
        half the body weight and sway moves a few tens of newtons between the feet (Winter
        1995, "Human balance and posture control during standing and walking"); in swing the
        foot is in the air and an insole reads only the shoe's residual load (gaitpdb: at most
        0.36 of the peak, 99 % under 0.04; `bench/swing_load.py`).

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
    (14, 0.34)
    """
    detector = ContactDetector(sampling_rate_hz=sampling_rate_hz, **options)
    contacts = detector.feed(force_n)
    contacts += detector.finish()
    return Contacts(contacts)


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
    floor_sd_k : float
        Noise floor of the swing that timing goes back to (in SDs of its noise).
    floor_fraction : float or None
        Least height of that floor (fraction of the range); None: 0.02 with ``unloaded_level``,
        else 0.03 (see `detect_contacts`).
    valley_fraction, min_valley_s, split_factor : float
        Re-cutting of long contacts at clear valleys.

    Notes
    -----
    :meth:`feed` emits a contact only once it is final: after its toe-off has been followed by
    ``max(refractory_s, min_swing_s)`` below the on-threshold. The per-sample and per-contact
    work runs in compiled kernels (`insole.core._events_kernel`, numba, cached on disk); this
    class holds their state arrays and builds the `Contact` objects.

    Examples
    --------
    Fed in 25 ms chunks, as a live stream arrives, it finds the contacts the offline call
    finds (the example of `detect_contacts`), here as arrays (`feed_rows`):

    >>> import numpy as np
    >>> step = np.r_[np.zeros(70), np.hanning(70) * 1500.0]  # 0.35 s swing and contact, 200 Hz
    >>> force = np.tile(step, 14)
    >>> detector = ContactDetector(sampling_rate_hz=200.0)
    >>> rows = [detector.feed_rows(chunk) for chunk in np.array_split(force, force.size // 5)]
    >>> rows.append(detector.finish_rows())
    >>> heel_strikes_s = np.concatenate([r.heel_strike_index for r in rows]) / 200.0
    >>> len(heel_strikes_s), round(float(heel_strikes_s[1] - heel_strikes_s[0]), 2)
    (14, 0.7)
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
        floor_fraction: float | None = None,
        valley_fraction: float = 0.25,
        min_valley_s: float = 0.04,
        split_factor: float = 1.5,
        unloaded_level: float | None = None,
        max_swing_load: float = 0.5,
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
        #: The noise floor's least height [fraction of the range]: ``floor_fraction`` resolved.
        self._floor_frac = float(
            floor_fraction
            if floor_fraction is not None
            else _FLOOR_FRACTION_DRIFTING
            if unloaded_level is None
            else _FLOOR_FRACTION_UNLOADED
        )
        self.valley_fraction = valley_fraction
        self.min_valley_s = min_valley_s
        self.split_factor = split_factor
        self.unloaded_level = unloaded_level
        self.max_swing_load = max_swing_load
        self._check_parameters()
        #: Contacts in progress at the start or at the end of the stream (not reported),
        #: contacts in progress at the end reported as steps (toe-off flagged), and early heel
        #: strikes retracted (spikes, touches, first phases that were swing). Kept across
        #: `finish`.
        self.cut_at_start_ = 0
        self.cut_at_end_ = 0
        self.cut_at_end_reported_ = 0
        self.retracted_heel_strikes_ = 0
        #: Contacts not reported because their swing stayed loaded (weight shifts while
        #: standing; only with ``unloaded_level``). Kept across `finish`.
        self.weight_shifts_ = 0
        #: Contacts whose contact time a loss could hide, reported with ``toe_off_valid=False``:
        #: a loss as long as the shortest swing inside the contact or right before it, or one
        #: that could hide a whole swing where the detector cut a long contact (step 7). Kept
        #: across `finish`.
        self.contact_time_lost_ = 0
        #: Heel strikes announced as soon as certain, and announced ones retracted, not yet
        #: popped [fractional sample index] (see `pop_heel_strikes`). Kept across `finish`.
        self._early: list[float] = []
        self._retracted: list[float] = []
        self.reset()

    # ------------------------------------------------------------------ public API

    def reset(self) -> ContactDetector:
        """Forget all state and start a new stream.

        Returns
        -------
        ContactDetector
            This detector.
        """
        k = _kernel()
        fs = float(self.sampling_rate_hz)
        self._off_frac = (
            0.75 * self.on_fraction if self.off_fraction is None else float(self.off_fraction)
        )
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
        # Parameters and state of the compiled kernel (layout: `insole.core._events_kernel`).
        fp = np.zeros(k.N_FP, dtype=np.float64)
        fp[k.P_FS] = fs
        fp[k.P_ON_FRAC] = self.on_fraction
        fp[k.P_OFF_FRAC] = self._off_frac
        fp[k.P_EDGE_FRAC] = self.edge_fraction
        fp[k.P_IMPACT_WINDOW] = self.impact_window_fraction
        fp[k.P_IMPACT_PROM] = self.impact_prominence_fraction
        fp[k.P_FLOOR_SD_K] = self.floor_sd_k
        fp[k.P_FLOOR_FRAC] = self._floor_frac
        fp[k.P_VALLEY_FRAC] = self.valley_fraction
        fp[k.P_SPLIT] = self.split_factor
        fp[k.P_LATENCY_N] = _MAX_DATA_S * fs - 1.5  # samples after the floor onset, with margin
        fp[k.P_IMPACT_MIN_WIDTH] = max(2.0, _IMPACT_MIN_WIDTH_S * fs)
        fp[k.P_Q_LOW] = _BOOTSTRAP_PERCENTILES[0] / 100
        fp[k.P_Q_HIGH] = _BOOTSTRAP_PERCENTILES[1] / 100
        fp[k.P_UNLOADED] = math.nan if self.unloaded_level is None else self.unloaded_level
        fp[k.P_SWING_LOAD] = self.max_swing_load
        ist = np.zeros(k.N_IST, dtype=np.int64)
        ist[k.I_BOOT_N] = max(2, round(self.bootstrap_s * fs))
        ist[k.I_BRIDGE_N] = max(1, round(max(self.refractory_s, self.min_swing_s) * fs))
        ist[k.I_POST_N] = max(ist[k.I_BRIDGE_N], round(_SWING_LEVEL_S * fs))
        ist[k.I_MIN_CONTACT_N] = round(self.min_contact_s * fs)
        ist[k.I_MAX_CONTACT_N] = round(self.max_contact_s * fs)
        edge_pre_n = max(2, round(_EDGE_PRE_S * fs))
        edge_post_n = max(4, round(_EDGE_POST_S * fs))
        ist[k.I_EDGE_PRE_N] = edge_pre_n
        ist[k.I_EDGE_POST_N] = edge_post_n
        ist[k.I_VALLEY_N] = max(1, round(self.min_valley_s * fs))
        ist[k.I_CERTAIN_N] = max(1, round(_CERTAIN_S * fs))
        ist[k.I_PLATEAU_N] = max(1, round(_PLATEAU_S * fs))
        ist[k.I_NOISE_N] = max(8, round(_NOISE_WINDOW_S * fs))
        ist[k.I_EXTRAPOLATE] = bool(self.extrapolate)
        ist[k.I_EDGE_BEST] = _EDGE_BEST
        ist[k.I_MODE] = k.MODE_BOOT
        ist[k.O_OFF_INDEX] = -1
        self._fp = fp
        self._ist = ist
        self._fst = np.full(k.N_FST, np.nan)  # levels: NaN until the bootstrap sets them
        # Recent peaks (loaded level), rise times and durations of contacts seen whole, and
        # their rising edges: (offsets from heel strike [samples], force above the contact's
        # base as a fraction of the range), to place heel strikes hidden in lost samples.
        self._peaks = np.zeros(self.n_level_contacts, dtype=np.float64)
        self._leads = np.zeros((4, _LEAD_HISTORY), dtype=np.float64)
        self._durations = np.zeros(_DURATION_HISTORY, dtype=np.float64)
        self._edges = np.zeros((2, _EDGE_HISTORY, edge_pre_n + edge_post_n + 1), np.float64)
        self._buf: FloatArray = np.empty(0, dtype=np.float64)
        return self

    @property
    def levels_n_(self) -> tuple[float, float] | None:
        """Current (swing level, loaded level), or None before the bootstrap is complete."""
        k = _kernel()
        if self._ist[k.I_MODE] == k.MODE_BOOT:
            return None
        return (float(self._fst[k.F_LOW]), float(self._fst[k.F_HIGH]))

    @property
    def thresholds_n_(self) -> tuple[float, float] | None:
        """Current (on-threshold, off-threshold), or None before the bootstrap is complete."""
        k = _kernel()
        if self._ist[k.I_MODE] == k.MODE_BOOT:
            return None
        low, high = float(self._fst[k.F_LOW]), float(self._fst[k.F_HIGH])
        return (float(self._fst[k.F_ON]), low + self._off_frac * (high - low))

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
        chunk = self._chunk(force_n)
        if chunk.size == 0:
            return []
        return self._advance(final=False)

    def _chunk(self, force_n: ArrayLike) -> FloatArray:
        """Check and filter the next chunk and append it to the buffer; return it."""
        chunk = np.asarray(force_n, dtype=np.float64)
        if chunk.ndim != 1:
            raise DetectorParameterError(
                f"force_n must be one-dimensional (one foot), got shape {chunk.shape}; "
                "pass each foot's total force separately",
                parameter="force_n",
            )
        if chunk.size == 0:
            return chunk
        chunk = self._filter(chunk)
        self._buf = np.concatenate((self._buf, chunk))
        self._ist[_kernel().I_N_SEEN] += chunk.size
        return chunk

    def feed_rows(self, force_n: ArrayLike) -> ContactRows:
        """`feed`, with the contacts as arrays (`ContactRows`) instead of `Contact` objects."""
        chunk = self._chunk(force_n)
        if chunk.size == 0:
            return self._rows(np.empty((0, self._n_columns())))
        return self._rows(self._advance_rows(final=False))

    def finish_rows(self) -> ContactRows:
        """`finish`, with the contacts as arrays (`ContactRows`)."""
        out = self._rows(self._advance_rows(final=True))
        self.reset()
        return out

    def finish(self) -> list[Contact]:
        """End the stream: return the contacts that were waiting for look-ahead, then reset.

        A contact still in progress is reported with a toe-off at the last sample and
        ``toe_off_valid=False`` if it is a step by then (``cut_at_end_reported_``), else
        counted (``cut_at_end_``). Heel strikes not yet popped stay for `pop_heel_strikes`.

        Returns
        -------
        list of Contact
            The remaining complete contacts.
        """
        out = self._advance(final=True)
        self.reset()
        return out

    def pop_heel_strikes(self) -> list[float]:
        """Return the heel strikes [s] that became certain since the last call, and forget them.

        A heel strike is certain once its contact's rising edge has reached ``edge_fraction``
        of the range with every sample of the edge seen (no loss): its time then depends only
        on samples already fed, and it is exactly the heel strike of the `Contact` emitted
        later at toe-off. Edges with lost samples wait for the contact's end. Rarely, a contact
        announced this way turns out to be a spike (shorter than ``min_contact_s``) or a touch
        that never loads above the middle of the range; it is counted in
        ``retracted_heel_strikes_``. So is one announced at a first phase that stays below
        ``edge_fraction`` for longer than a loading response (0.25 s: the foot rested in swing):
        the contact's heel strike, at the main rise, is then announced when the contact ends.
        A retraction of a heel strike already popped is returned by
        `pop_retracted_heel_strikes`; one not yet popped is simply never returned. Every heel
        strike returned here and not retracted is that of exactly one `Contact`.
        """
        return self._pop_seconds(self._early)

    def pop_retracted_heel_strikes(self) -> list[float]:
        """Return the heel strikes [s] retracted since the last call, and forget them.

        Each was returned by `pop_heel_strikes` before its contact turned out to be no step
        (a spike, a touch, a contact in progress at the end that is none, or a window whose
        levels were wrong) or to start later (a first phase that was swing: its new heel
        strike comes from `pop_heel_strikes`). A live view removes its mark; a cue already
        given cannot be taken back, so the count of these is worth showing.
        """
        return self._pop_seconds(self._retracted)

    def _pop_seconds(self, indices: list[float]) -> list[float]:
        """Empty ``indices`` (fractional sample indices); return them as times [s]."""
        out = [(t - self._delay_samples) / float(self.sampling_rate_hz) for t in indices]
        indices.clear()
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
        if not 0 <= self._floor_frac < self.on_fraction:
            fail("floor_fraction", "None or in [0, on_fraction)")
        if not self.on_fraction < self.valley_fraction < 1:
            fail("valley_fraction", "between on_fraction and 1")
        if not self.min_valley_s >= 0:
            fail("min_valley_s", "a non-negative duration in seconds")
        if not self.split_factor > 1:
            fail("split_factor", "greater than 1")
        if self.unloaded_level is not None and not np.isfinite(self.unloaded_level):
            fail("unloaded_level", "None or a finite level (0.0 for force in N)")
        if not 0 < self.max_swing_load < 1:
            fail("max_swing_load", "between 0 and 1 (typically 0.5)")
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

    def _advance(self, final: bool) -> list[Contact]:
        """Run the compiled detector over the buffered samples; return the contacts emitted."""
        rows = self._advance_rows(final)
        return self._contacts(rows) if rows.shape[0] else []

    def _n_columns(self) -> int:
        return int(_kernel().N_COLS)

    def _rows(self, rows: FloatArray) -> ContactRows:
        """`ContactRows` of the kernel's output rows (see `_events_kernel.C_*`)."""
        k = _kernel()
        fs = float(self.sampling_rate_hz)
        delay = self._delay_samples
        impact_n = rows[:, k.C_IMPACT_N].copy()
        impact_s = np.where(np.isnan(impact_n), np.nan, (rows[:, k.C_IMPACT_T] - delay) / fs)
        return ContactRows(
            rows[:, k.C_T_HS] - delay,
            rows[:, k.C_T_TO] - delay,
            rows[:, k.C_PEAK].copy(),
            impact_n,
            impact_s,
            rows[:, k.C_VALID] != 0,
            fs,
        )

    def _advance_rows(self, final: bool) -> FloatArray:
        """Run the compiled detector over the buffered samples; return its output rows."""
        k = _kernel()
        ist = self._ist
        rows, early, keep = k.advance(
            self._buf,
            self._fp,
            ist,
            self._fst,
            self._peaks,
            self._leads,
            self._durations,
            self._edges,
            final,
        )
        if (
            ist[k.I_CUT_START] or ist[k.I_CUT_END] or ist[k.I_RETRACTED]
            or ist[k.I_CUT_END_KEPT] or ist[k.I_SHIFTS] or ist[k.I_LOST_TIME]
        ):  # fmt: skip
            self.cut_at_start_ += int(ist[k.I_CUT_START])
            self.cut_at_end_ += int(ist[k.I_CUT_END])
            self.cut_at_end_reported_ += int(ist[k.I_CUT_END_KEPT])
            self.retracted_heel_strikes_ += int(ist[k.I_RETRACTED])
            self.weight_shifts_ += int(ist[k.I_SHIFTS])
            self.contact_time_lost_ += int(ist[k.I_LOST_TIME])
            ist[k.I_CUT_START] = ist[k.I_CUT_END] = ist[k.I_RETRACTED] = 0
            ist[k.I_CUT_END_KEPT] = ist[k.I_SHIFTS] = ist[k.I_LOST_TIME] = 0
        if early.shape[0]:
            if (early[:, 1] > 0).all():
                self._early += early[:, 0].tolist()
            else:
                for t, sign in early.tolist():
                    if sign > 0:
                        self._early.append(t)
                    elif t in self._early:  # retracted before it was popped: never announced
                        self._early.remove(t)
                    else:
                        self._retracted.append(t)
        # Drop buffered samples that no pending decision can need.
        start = int(ist[k.I_BUF_START])
        if keep > start:
            self._buf = self._buf[keep - start :].copy()
            ist[k.I_BUF_START] = keep
        return rows

    def _contacts(self, rows: FloatArray) -> list[Contact]:
        """`Contact` objects of the kernel's output rows (see `_events_kernel.C_*`)."""
        k = _kernel()
        fs = float(self.sampling_rate_hz)
        delay = self._delay_samples
        hs_index = rows[:, k.C_T_HS] - delay
        to_index = rows[:, k.C_T_TO] - delay
        impact_s = ((rows[:, k.C_IMPACT_T] - delay) / fs).tolist()
        impact_n = rows[:, k.C_IMPACT_N].tolist()
        valid = (rows[:, k.C_VALID] != 0).tolist()
        return [
            Contact(
                heel_strike_s=hs_s,
                toe_off_s=to_s,
                heel_strike_index=hs_i,
                toe_off_index=to_i,
                peak_force_n=peak,
                impact_peak_n=None if math.isnan(imp_n) else imp_n,
                impact_peak_s=None if math.isnan(imp_n) else imp_s,
                toe_off_valid=ok,
            )
            for hs_s, to_s, hs_i, to_i, peak, imp_n, imp_s, ok in zip(
                (hs_index / fs).tolist(),
                (to_index / fs).tolist(),
                hs_index.tolist(),
                to_index.tolist(),
                rows[:, k.C_PEAK].tolist(),
                impact_n,
                impact_s,
                valid,
                strict=True,
            )
        ]


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
#: Longest first phase below ``edge_fraction`` of the range that still counts as the start of
#: weight acceptance [s]. The loading response lasts about 10 % of the gait cycle, 0.10-0.12 s
#: at 1.0-1.2 s strides (Perry & Burnfield 2010); twice that. A foot that stays loaded below it
#: for longer rests or drags in swing (Huntington's gait, gaitndd hunt5: 0.3-0.5 s at 15-20 %
#: before the main rise; elsewhere in gaitndd the heel strike reaches 30 % within 0.16 s): its
#: heel strike is where the main rise leaves that phase.
_PLATEAU_S = 0.25
#: Most data after the onset sample before a heel strike is announced [s]: live feedback on
#: each step needs it within 30 ms (issue "Core v2": heel-strike events p99 <= 30 ms).
_MAX_DATA_S = 0.030
#: Length of swing before a contact whose noise is measured [s].
_NOISE_WINDOW_S = 0.5
#: Default ``floor_fraction`` with a known unloaded level (force in N, a foot in the air reads
#: zero plus noise): 2 % of the range, inside force-plate practice's 10-50 N (0.5-3 % of a
#: 1.7-2 kN running range; Blades et al. 2023).
_FLOOR_FRACTION_UNLOADED = 0.02
#: Default ``floor_fraction`` without one (footswitch voltages, counts with an offset): 3 %, the
#: upper end of that span, above the 1-2 % creep of footswitch swings in the 0.1 s before
#: contact (PhysioNet gaitndd).
_FLOOR_FRACTION_DRIFTING = 0.03


def _kernel() -> ModuleType:
    """The compiled kernels (`insole.core._events_kernel`), imported and loaded on first use.

    Importing numba and loading the cached kernel take a few tenths of a second: importing this
    module stays light, and the first detector made pays the cost (not its first chunk).

    Thread-safe: the first callers wait while one of them loads it.
    """
    global _KERNEL
    if _KERNEL is None:
        with _KERNEL_LOCK:
            if _KERNEL is None:
                from firmware_protocol.jit import load_numba

                load_numba()  # numba without scipy.linalg and cffi: ~0.2 s less start-up
                from insole.core import _events_kernel

                if not _kernel_cached(_events_kernel) and sys.stderr.isatty():
                    print(
                        "insole: compiling the analysis kernels (once, about 45 s; "
                        "cached for later runs)",
                        file=sys.stderr,
                        flush=True,
                    )
                _events_kernel.warm_up()
                _KERNEL = _events_kernel
    return _KERNEL


_KERNEL: ModuleType | None = None
_KERNEL_LOCK = threading.Lock()


def _kernel_cached(module: ModuleType) -> bool:
    """Whether numba's disk cache holds the detector kernel (False: the first call compiles).

    Reads numba's cache index path (a private attribute: any surprise counts as cached, so
    that at worst the note about compiling is not shown).
    """
    try:
        return bool(os.path.exists(module.advance._cache._cache_file._index_path))
    except Exception:  # noqa: BLE001 - numba internals; never fail a detector for a note
        return True


def _find_peaks(x: Sequence[float], prominence: float, width: float) -> list[int]:
    """Local maxima of ``x`` with at least this prominence and width at half prominence.

    The same peaks as ``scipy.signal.find_peaks(x, prominence=prominence, width=width)``
    (flat tops give their middle sample; prominence against the lowest point before a higher
    sample on each side; width between the interpolated crossings of half the prominence),
    compiled for the short arrays of one contact, where the scipy call's overhead dominates
    and importing ``scipy.signal`` costs most of a process's start-up. The detector calls the
    compiled function (`insole.core._events_kernel.find_peaks`) directly.
    """
    values = np.asarray(x, dtype=np.float64)
    return [int(i) for i in _kernel().find_peaks(values, float(prominence), float(width))]
