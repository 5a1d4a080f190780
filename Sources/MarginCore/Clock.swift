import Foundation

/// A hybrid logical clock reading: wall-clock milliseconds plus a counter
/// that orders events within one millisecond or while the wall clock lags.
public struct HLC: Comparable, Hashable, Sendable, CustomStringConvertible {
    public var milliseconds: Int64
    public var counter: Int64

    public init(milliseconds: Int64, counter: Int64) {
        self.milliseconds = milliseconds
        self.counter = counter
    }

    public static let zero = HLC(milliseconds: 0, counter: 0)

    public static func < (a: HLC, b: HLC) -> Bool {
        (a.milliseconds, a.counter) < (b.milliseconds, b.counter)
    }

    public var date: Date { Date(timeIntervalSince1970: Double(milliseconds) / 1000) }

    public var description: String { "\(milliseconds).\(counter)" }
}

/// Source of wall-clock time, injectable so tests can run a clock backwards.
public protocol WallClock {
    func nowMilliseconds() -> Int64
}

public struct SystemClock: WallClock {
    public init() {}
    public func nowMilliseconds() -> Int64 { Int64((Date().timeIntervalSince1970 * 1000).rounded(.down)) }
}

/// The hybrid logical clock of one node (Kulkarni et al., 2014). Readings
/// never go backwards, even when the wall clock does, so a node's own later
/// change always beats its earlier one under last-writer-wins.
public struct HybridClock {
    public private(set) var last: HLC
    public var wall: any WallClock

    public init(last: HLC = .zero, wall: any WallClock = SystemClock()) {
        self.last = last
        self.wall = wall
    }

    /// A reading for a local event. It saturates instead of overflowing: a
    /// counter at its bound moves on to the next millisecond, and a clock at
    /// the last millisecond stays there (readings then repeat, which LWW's
    /// tie-break on origin and sequence number still orders).
    public mutating func tick() -> HLC {
        let now = min(max(0, wall.nowMilliseconds()), HybridClock.maxMilliseconds)
        if now > last.milliseconds {
            last = HLC(milliseconds: now, counter: 0)
        } else {
            last = HybridClock.successor(of: last)
        }
        return last
    }

    /// A reading after `reading` (and this clock's last), for a change that
    /// must come after one it names.
    public mutating func after(_ reading: HLC) -> HLC {
        observe(reading)
        return tick()
    }

    static let maxMilliseconds: Int64 = (1 << 47) - 1
    static let maxCounter: Int64 = (1 << 32) - 1

    static func successor(of r: HLC) -> HLC {
        if r.counter < maxCounter { return HLC(milliseconds: r.milliseconds, counter: r.counter + 1) }
        if r.milliseconds < maxMilliseconds { return HLC(milliseconds: r.milliseconds + 1, counter: 0) }
        return r
    }

    /// Moves the clock past a reading received from another node, so later
    /// local changes are ordered after everything this node has seen.
    /// Readings beyond the bounds (refused on receipt) are clamped.
    public mutating func observe(_ remote: HLC) {
        let bounded = HLC(milliseconds: min(max(0, remote.milliseconds), HybridClock.maxMilliseconds),
                          counter: min(max(0, remote.counter), HybridClock.maxCounter))
        if bounded > last { last = bounded }
    }
}
