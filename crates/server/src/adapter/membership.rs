//! Which rooms the local sockets of a namespace are in.

use std::collections::hash_map::Entry;
use std::collections::{HashMap, HashSet};

use crate::{Room, SocketId};

/// A hasher for maps keyed by socket ids. The ids are random and made by the
/// server, so a fast hasher is safe here: a peer cannot pick keys that collide.
/// Room names may come from a peer, so maps keyed by rooms keep SipHash.
pub(crate) type IdHasher = foldhash::fast::RandomState;

/// Room membership of one namespace's local sockets.
///
/// Every socket is in the room named by its id; that room is implicit, a flag
/// on the socket rather than a room of its own in `members`, which saves two
/// maps and a set per socket. Everything read from here includes it.
#[derive(Default)]
pub(crate) struct Rooms {
    /// The rooms joined by name, with their members. A socket's own room is
    /// not here, even when other sockets joined it too.
    members: HashMap<Room, HashSet<SocketId, IdHasher>>,
    /// Every socket in some room, with what it is in.
    sockets: HashMap<SocketId, Membership, IdHasher>,
}

/// The rooms of one socket.
#[derive(Default)]
struct Membership {
    /// Whether the socket is in its own room: from when it connects until it
    /// leaves it (which `socket.leave(socket.id)` may do).
    own: bool,
    /// The rooms joined by name, allocated with the first.
    #[expect(
        clippy::box_collection,
        reason = "boxed, the set costs each socket in no named room 8 bytes, not 48"
    )]
    named: Option<Box<HashSet<Room>>>,
}

impl Membership {
    fn is_empty(&self) -> bool {
        !self.own && self.named.is_none()
    }
}

/// What a change did to a room (see [`RoomObserver`](super::RoomObserver)).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RoomChange {
    /// The room got its first member (told before that member's `Joined`).
    Created,
    /// The room lost its last member (told after that member's `Left`).
    Deleted,
    /// A socket joined the room it was not in.
    Joined(SocketId),
    /// A socket left a room it was in.
    Left(SocketId),
}

/// Told of each room a change creates or deletes; `None` when no one listens,
/// which costs the change nothing.
pub(crate) type Tell<'a> = Option<&'a mut dyn FnMut(RoomChange, &Room)>;

impl Rooms {
    /// Adds a socket to rooms.
    pub(super) fn add(&mut self, id: SocketId, rooms: &[Room], tell: Tell<'_>) {
        // What this does, in Node's order, gathered only when someone
        // listens; a named room's creation is checked once `membership` no
        // longer borrows the sockets (it is not created when it is the own
        // room of another socket in it).
        let listening = tell.is_some();
        let mut told: Vec<(RoomChange, &Room)> = Vec::new();
        let membership = self.sockets.entry(id).or_default();
        for room in rooms {
            if **room == *id.as_str() {
                if !membership.own {
                    membership.own = true;
                    if listening {
                        if !self.members.contains_key(room) {
                            told.push((RoomChange::Created, room));
                        }
                        told.push((RoomChange::Joined(id), room));
                    }
                }
            } else {
                let members = match self.members.entry(room.clone()) {
                    Entry::Occupied(members) => members.into_mut(),
                    Entry::Vacant(vacant) => {
                        if listening {
                            told.push((RoomChange::Created, room));
                        }
                        vacant.insert(HashSet::default())
                    }
                };
                if members.insert(id) && listening {
                    told.push((RoomChange::Joined(id), room));
                }
                membership
                    .named
                    .get_or_insert_with(Default::default)
                    .insert(room.clone());
            }
        }
        if membership.is_empty() {
            self.sockets.remove(&id);
        }
        if let Some(tell) = tell {
            for (change, room) in told {
                let own = **room == *id.as_str();
                if change == RoomChange::Created && !own && self.owner(room).is_some() {
                    continue;
                }
                tell(change, room);
            }
        }
    }

    /// Removes a socket from one room.
    pub(super) fn remove(&mut self, id: SocketId, room: &Room, tell: Tell<'_>) {
        let Some(membership) = self.sockets.get_mut(&id) else {
            return;
        };
        let (mut left, mut deleted) = (false, false);
        if **room == *id.as_str() {
            left = membership.own;
            deleted = membership.own && !self.members.contains_key(room);
            membership.own = false;
        } else {
            if let Some(named) = &mut membership.named {
                named.remove(room);
                if named.is_empty() {
                    membership.named = None;
                }
            }
            if let Some(members) = self.members.get_mut(room) {
                left = members.remove(&id);
                if members.is_empty() {
                    self.members.remove(room);
                    deleted = true;
                }
            }
        }
        if membership.is_empty() {
            self.sockets.remove(&id);
        }
        if let Some(tell) = tell {
            if left {
                tell(RoomChange::Left(id), room);
            }
            if deleted && self.owner(room).is_none() {
                tell(RoomChange::Deleted, room);
            }
        }
    }

    /// Removes a socket from every room.
    pub(super) fn remove_all(&mut self, id: SocketId, mut tell: Tell<'_>) {
        let Some(membership) = self.sockets.remove(&id) else {
            return;
        };
        if membership.own
            && let Some(tell) = tell.as_mut()
        {
            let own = Room::from(id.as_str());
            tell(RoomChange::Left(id), &own);
            if !self.members.contains_key(id.as_str()) {
                tell(RoomChange::Deleted, &own);
            }
        }
        for room in membership.named.into_iter().flat_map(|named| *named) {
            if let Some(members) = self.members.get_mut(&room) {
                let left = members.remove(&id);
                let empty = members.is_empty();
                if empty {
                    self.members.remove(&room);
                }
                if let Some(tell) = tell.as_mut() {
                    if left {
                        tell(RoomChange::Left(id), &room);
                    }
                    if empty && self.owner(&room).is_none() {
                        tell(RoomChange::Deleted, &room);
                    }
                }
            }
        }
    }

    /// The rooms a socket is in, its own first.
    pub(super) fn of_socket(&self, id: SocketId) -> Vec<Room> {
        let Some(membership) = self.sockets.get(&id) else {
            return Vec::new();
        };
        let own = membership.own.then(|| Room::from(id.as_str()));
        own.into_iter()
            .chain(membership.named.iter().flat_map(|n| n.iter().cloned()))
            .collect()
    }

    /// Every socket in some room, with its rooms, its own included (Node's
    /// `adapter.sids`).
    pub(super) fn sids(&self) -> HashMap<SocketId, HashSet<Room>> {
        self.sockets
            .iter()
            .map(|(id, membership)| {
                let own = membership.own.then(|| Room::from(id.as_str()));
                let named = membership.named.iter().flat_map(|n| n.iter().cloned());
                (*id, own.into_iter().chain(named).collect())
            })
            .collect()
    }

    /// Every room that has a member.
    pub(super) fn all(&self) -> Vec<Room> {
        let own = self
            .sockets
            .iter()
            .filter(|(id, m)| m.own && !self.members.contains_key(id.as_str()))
            .map(|(id, _)| Room::from(id.as_str()));
        self.members.keys().cloned().chain(own).collect()
    }

    /// Calls `f` with each member of a room.
    pub(super) fn for_each_member(&self, room: &str, mut f: impl FnMut(SocketId)) {
        if let Some(id) = self.owner(room) {
            f(id);
        }
        if let Some(members) = self.members.get(room) {
            members.iter().copied().for_each(f);
        }
    }

    /// The socket whose own room this is, if it is in it.
    fn owner(&self, room: &str) -> Option<SocketId> {
        let id = SocketId::parse(room)?;
        self.sockets.get(&id).is_some_and(|m| m.own).then_some(id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn room(name: &str) -> Room {
        Room::from(name)
    }

    fn sorted(mut rooms: Vec<Room>) -> Vec<Room> {
        rooms.sort();
        rooms
    }

    fn members(rooms: &Rooms, name: &str) -> Vec<SocketId> {
        let mut ids = Vec::new();
        rooms.for_each_member(name, |id| ids.push(id));
        ids.sort_by(|a, b| a.as_str().cmp(b.as_str()));
        ids
    }

    fn own(id: SocketId) -> Room {
        room(id.as_str())
    }

    #[test]
    fn the_own_room_reads_as_a_room_and_stores_no_set() {
        let mut rooms = Rooms::default();
        let a = SocketId::random();
        rooms.add(a, &[own(a)], None);
        assert_eq!(rooms.of_socket(a), [own(a)]);
        assert_eq!(rooms.all(), [own(a)]);
        assert_eq!(members(&rooms, a.as_str()), [a]);
        assert!(rooms.members.is_empty());
        assert!(rooms.sockets[&a].named.is_none());
        rooms.remove_all(a, None);
        assert!(rooms.sockets.is_empty());
        assert!(rooms.all().is_empty());
        assert!(members(&rooms, a.as_str()).is_empty());
    }

    #[test]
    fn named_rooms_come_and_go_with_their_members() {
        let mut rooms = Rooms::default();
        let (a, b) = (SocketId::random(), SocketId::random());
        rooms.add(a, &[own(a)], None);
        rooms.add(b, &[own(b), room("x")], None);
        rooms.add(a, &[room("x"), room("y")], None);
        assert_eq!(
            sorted(rooms.of_socket(a)),
            sorted(vec![own(a), room("x"), room("y")])
        );
        assert_eq!(members(&rooms, "x").len(), 2);
        rooms.remove(a, &room("y"), None);
        rooms.remove(a, &room("not joined"), None);
        assert_eq!(sorted(rooms.of_socket(a)), sorted(vec![own(a), room("x")]));
        assert_eq!(sorted(rooms.all()), sorted(vec![own(a), own(b), room("x")]));
        rooms.remove_all(b, None);
        assert_eq!(members(&rooms, "x"), [a]);
        rooms.remove(a, &room("x"), None);
        assert!(rooms.sockets[&a].named.is_none(), "the set is freed");
        assert_eq!(rooms.all(), [own(a)]);
    }

    #[test]
    fn a_socket_may_leave_its_own_room_and_others_may_join_it() {
        let mut rooms = Rooms::default();
        let (a, b) = (SocketId::random(), SocketId::random());
        rooms.add(a, &[own(a)], None);
        rooms.add(b, &[own(b), own(a)], None);
        let mut both = vec![a, b];
        both.sort_by(|x, y| x.as_str().cmp(y.as_str()));
        assert_eq!(members(&rooms, a.as_str()), both);
        assert_eq!(
            sorted(rooms.all()),
            sorted(vec![own(a), own(b)]),
            "listed once"
        );
        assert_eq!(sorted(rooms.of_socket(b)), sorted(vec![own(a), own(b)]));

        rooms.remove(a, &own(a), None);
        assert!(rooms.of_socket(a).is_empty());
        assert_eq!(members(&rooms, a.as_str()), [b]);
        assert_eq!(
            sorted(rooms.all()),
            sorted(vec![own(a), own(b)]),
            "b is in it"
        );
        rooms.add(a, &[own(a)], None);
        assert_eq!(members(&rooms, a.as_str()), both);

        rooms.remove(b, &own(a), None);
        rooms.remove(a, &own(a), None);
        assert!(!rooms.sockets.contains_key(&a), "nothing left of a");
        assert_eq!(rooms.all(), [own(b)]);
    }

    #[test]
    fn a_socket_is_in_its_own_room_only_once_added_to_it() {
        let mut rooms = Rooms::default();
        let a = SocketId::random();
        rooms.add(a, &[room("early")], None);
        assert_eq!(rooms.of_socket(a), [room("early")]);
        assert!(members(&rooms, a.as_str()).is_empty());
        assert_eq!(rooms.all(), [room("early")]);
        assert!(members(&rooms, SocketId::random().as_str()).is_empty());
        assert!(members(&rooms, "not an id").is_empty());
    }

    /// Runs `f` on the rooms and returns what it created and deleted.
    fn changes(rooms: &mut Rooms, f: impl FnOnce(&mut Rooms, Tell<'_>)) -> Vec<String> {
        let mut seen = Vec::new();
        let mut tell = |change: RoomChange, room: &Room| {
            let sign = match change {
                RoomChange::Created => '+',
                RoomChange::Deleted => '-',
                RoomChange::Joined(_) | RoomChange::Left(_) => return,
            };
            seen.push(format!("{sign}{room}"));
        };
        f(rooms, Some(&mut tell));
        seen
    }

    #[test]
    fn named_rooms_are_created_by_their_first_member_and_deleted_with_their_last() {
        let mut rooms = Rooms::default();
        let (a, b) = (SocketId::random(), SocketId::random());
        let x = room("x");
        assert_eq!(
            changes(&mut rooms, |r, t| r.add(a, std::slice::from_ref(&x), t)),
            ["+x"]
        );
        assert!(changes(&mut rooms, |r, t| r.add(b, std::slice::from_ref(&x), t)).is_empty());
        assert!(changes(&mut rooms, |r, t| r.add(a, std::slice::from_ref(&x), t)).is_empty());
        assert!(changes(&mut rooms, |r, t| r.remove(a, &x, t)).is_empty());
        assert!(changes(&mut rooms, |r, t| r.remove(a, &x, t)).is_empty());
        assert_eq!(changes(&mut rooms, |r, t| r.remove(b, &x, t)), ["-x"]);
        let both = [room("y"), room("z")];
        assert_eq!(changes(&mut rooms, |r, t| r.add(a, &both, t)), ["+y", "+z"]);
        let mut gone = changes(&mut rooms, |r, t| r.remove_all(a, t));
        gone.sort();
        assert_eq!(gone, ["-y", "-z"]);
    }

    #[test]
    fn an_own_room_exists_while_its_socket_or_another_is_in_it() {
        let mut rooms = Rooms::default();
        let (a, b) = (SocketId::random(), SocketId::random());
        let (plus_a, minus_a) = (format!("+{a}"), format!("-{a}"));
        assert_eq!(
            changes(&mut rooms, |r, t| r.add(a, &[own(a)], t)),
            std::slice::from_ref(&plus_a)
        );
        // b joins a's room: it exists already.
        assert!(changes(&mut rooms, |r, t| r.add(b, &[own(a)], t)).is_empty());
        // a leaves its own room: b is still in it.
        assert!(changes(&mut rooms, |r, t| r.remove(a, &own(a), t)).is_empty());
        assert_eq!(
            changes(&mut rooms, |r, t| r.remove(b, &own(a), t)),
            std::slice::from_ref(&minus_a)
        );
        // Another joining first creates it; a then adds nothing.
        assert_eq!(
            changes(&mut rooms, |r, t| r.add(b, &[own(a)], t)),
            std::slice::from_ref(&plus_a)
        );
        assert!(changes(&mut rooms, |r, t| r.add(a, &[own(a)], t)).is_empty());
        // a disconnects: b keeps the room.
        assert!(changes(&mut rooms, |r, t| r.remove_all(a, t)).is_empty());
        assert_eq!(changes(&mut rooms, |r, t| r.remove_all(b, t)), [minus_a]);
        assert!(rooms.all().is_empty());
    }

    /// Runs `f` on the rooms and returns every change it told, joins and
    /// leaves included (`j:room:id`, `l:room:id`).
    fn all_changes(rooms: &mut Rooms, f: impl FnOnce(&mut Rooms, Tell<'_>)) -> Vec<String> {
        let mut seen = Vec::new();
        let mut tell = |change: RoomChange, room: &Room| {
            seen.push(match change {
                RoomChange::Created => format!("+{room}"),
                RoomChange::Deleted => format!("-{room}"),
                RoomChange::Joined(id) => format!("j:{room}:{id}"),
                RoomChange::Left(id) => format!("l:{room}:{id}"),
            });
        };
        f(rooms, Some(&mut tell));
        seen
    }

    #[test]
    fn joins_and_leaves_are_told_in_nodes_order_once_each() {
        let mut rooms = Rooms::default();
        let (a, b) = (SocketId::random(), SocketId::random());
        let x = room("x");
        let two = [own(a), x.clone()];
        assert_eq!(
            all_changes(&mut rooms, |r, t| r.add(a, &two, t)),
            [
                format!("+{a}"),
                format!("j:{a}:{a}"),
                "+x".to_owned(),
                format!("j:x:{a}")
            ]
        );
        // Already in: nothing.
        assert!(all_changes(&mut rooms, |r, t| r.add(a, &two, t)).is_empty());
        assert_eq!(
            all_changes(&mut rooms, |r, t| r.add(b, std::slice::from_ref(&x), t)),
            [format!("j:x:{b}")]
        );
        assert_eq!(
            all_changes(&mut rooms, |r, t| r.remove(b, &x, t)),
            [format!("l:x:{b}")]
        );
        assert!(all_changes(&mut rooms, |r, t| r.remove(b, &x, t)).is_empty());
        let mut gone = all_changes(&mut rooms, |r, t| r.remove_all(a, t));
        gone.sort();
        let mut expected = vec![
            format!("l:{a}:{a}"),
            format!("-{a}"),
            format!("l:x:{a}"),
            "-x".to_owned(),
        ];
        expected.sort();
        assert_eq!(gone, expected);
    }
}
