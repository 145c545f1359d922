"""AlphaZero self-play training of one agent on Hex, fully on device (Jones 2021, spec §3–§4).

`make_iteration(...)` returns one jitted function per Python iteration, for one of two learner
schedules (`train.schedule`):

- rollout (default): play `rollout_steps` self-play moves in every env with frozen params
  (search → move → auto-reset, in a `lax.scan`), compute value targets inside that window
  bootstrapped from the network, and run the learner over the fresh samples once each.
- jones (Jones 2021, spec §3): a ring buffer (`Window`) of the last W = `rollout_steps` moves ×
  n_envs rides in the carry; after every move (current params) one learner step trains on
  `batch_size` samples drawn from the window (one random step per env column when
  batch_size = n_envs), their value targets bootstrapped from the network's raw value after the
  newest move; the oldest step drops out at the next move. Learning starts at the first move,
  sampling only the steps filled so far. `steps_per_call` moves + learner steps per call, in a
  `lax.scan`; the window is checkpointed with the rest of the carry.

The Python loop around it (`pipeline.train.loop`) owns savepoints, snapshots, checkpoints,
metrics and the progress bar; the run directory's files are `pipeline.train.run_files`.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import optax
from flax import struct

import hex_env as he
from agents import network
from agents.search import make_search_fn
from pipeline.infra import jones
from pipeline.infra.config import (
    Config,
)


class Transition(NamedTuple):
    obs: jax.Array  # [T, B, S, S, 2] mover's view before the move
    policy: jax.Array  # [T, B, S*S] search policy target
    reward: jax.Array  # [T, B] +1 if the move won the game for its mover
    done: jax.Array  # [T, B] the move ended the game


@struct.dataclass
class Window:
    """Ring buffer of the last W self-play steps of B envs (the jones schedule's replay window).

    Slot `head` is written next; the `filled` (≤ W) most recent steps are valid, the oldest in
    slot (head − filled) mod W. Observations are stored as bool (they are 0/1 planes)."""

    obs: jax.Array  # [W, B, S, S, 2] bool mover's view before the move
    policy: jax.Array  # [W, B, S*S] float32 search policy target
    reward: jax.Array  # [W, B] float32 +1 if the move won the game for its mover
    done: jax.Array  # [W, B] bool the move ended the game
    head: jax.Array  # [] int32
    filled: jax.Array  # [] int32


@struct.dataclass
class TrainCarry:
    params: dict
    opt_state: optax.OptState
    envs: he.HexState  # [B] games in progress
    key: jax.Array  # [2] uint32 PRNG key
    window: Window | None = None  # jones schedule only


def steps_per_call(cfg: Config) -> int:
    """Self-play moves per env in one jitted call (= samples per call / n_envs)."""
    return cfg.train.steps_per_call or cfg.train.rollout_steps


def window_init(steps: int, n_envs: int, size: int) -> Window:
    cells = size * size
    return Window(
        obs=jnp.zeros((steps, n_envs, size, size, 2), bool),
        policy=jnp.zeros((steps, n_envs, cells), jnp.float32),
        reward=jnp.zeros((steps, n_envs), jnp.float32),
        done=jnp.zeros((steps, n_envs), bool),
        head=jnp.int32(0),
        filled=jnp.int32(0),
    )


def window_push(window: Window, step: Transition) -> Window:
    """Write one self-play step ([B] leaves) over the oldest slot."""
    steps = window.reward.shape[0]
    put = lambda buf, x: jax.lax.dynamic_update_index_in_dim(
        buf, x.astype(buf.dtype), window.head, 0
    )
    return Window(
        obs=put(window.obs, step.obs),
        policy=put(window.policy, step.policy),
        reward=put(window.reward, step.reward),
        done=put(window.done, step.done),
        head=(window.head + 1) % steps,
        filled=jnp.minimum(window.filled + 1, steps),
    )


def window_slots(window: Window) -> jax.Array:
    """[W] slot of each chronological position, oldest valid step first; positions ≥ `filled`
    are not valid steps."""
    steps = window.reward.shape[0]
    return (window.head - window.filled + jnp.arange(steps)) % steps


def window_targets(
    window: Window, bootstrap: jax.Array, positions: jax.Array, envs: jax.Array
) -> jax.Array:
    """[N] value targets of the samples at chronological `positions` [N] of env columns `envs`
    [N]: what `value_targets` gives over the window's valid steps bootstrapped with `bootstrap`
    [B] (the mover's value after the newest step), in closed form: the result of the first game
    end j ≥ p in the window, else the bootstrap (j = filled), signed by (−1)^(j − p)."""
    slots = window_slots(window)
    steps = slots.shape[0]
    time = jnp.arange(steps)[:, None]
    done = window.done[slots][:, envs]  # [W, N] chronological
    ends = done & (time >= positions[None, :]) & (time < window.filled)
    first_end = jnp.min(jnp.where(ends, time, window.filled), axis=0)
    result = window.reward[slots[jnp.minimum(first_end, steps - 1)], envs]
    value = jnp.where(first_end < window.filled, result, bootstrap[envs])
    return jnp.where((first_end - positions) % 2 == 0, value, -value)


def window_sample(window: Window, bootstrap: jax.Array, key: jax.Array, batch_size: int):
    """A learner batch from the window's valid steps: (obs, policy, value target, positions,
    envs). batch_size = B (Jones): one uniformly random step per env column. Otherwise
    batch_size (env, step) pairs, each uniform over the window's B × filled samples (with
    replacement); each sample is then used batch_size / B times on average."""
    n_envs = window.reward.shape[1]
    env_key, step_key = jax.random.split(key)
    if batch_size == n_envs:
        envs = jnp.arange(n_envs)
    else:
        envs = jax.random.randint(env_key, (batch_size,), 0, n_envs)
    positions = jax.random.randint(step_key, (batch_size,), 0, window.filled)
    slots = window_slots(window)[positions]
    obs = window.obs[slots, envs].astype(jnp.float32)
    policy = window.policy[slots, envs]
    targets = window_targets(window, bootstrap, positions, envs)
    return obs, policy, targets, positions, envs


def value_targets(reward: jax.Array, done: jax.Array, bootstrap: jax.Array) -> jax.Array:
    """[T, B] return for the mover at each step: the game's result if it ends inside the window,
    else −(the next mover's return), with the network's value of the last state at the end."""

    def back(next_return, step):
        r, d = step
        ret = jnp.where(d, r, -next_return)
        return ret, ret

    return jax.lax.scan(back, bootstrap, (reward, done), reverse=True)[1]


def loss_fn(params, apply_fn, obs, policy_target, value_target):
    """Policy cross-entropy to the search policy + value MSE (Jones 2021)."""
    log_policy, value = apply_fn(params, obs)
    policy_loss = -jnp.mean(jnp.sum(policy_target * log_policy, axis=-1))
    value_loss = jnp.mean((value - value_target) ** 2)
    return policy_loss + value_loss, (policy_loss, value_loss)


def random_warmup(envs: he.HexState, key: jax.Array) -> he.HexState:
    """Desynchronise games: each env plays a random number (< S²) of uniformly random moves."""
    cells = envs.board.shape[-1]
    count_key, move_key = jax.random.split(key)
    n_moves = jax.random.randint(count_key, envs.ply.shape, 0, cells)

    def move(state, xs):
        t, k = xs
        legal = jax.vmap(he.legal_action_mask)(state)
        action = jax.random.categorical(k, jnp.where(legal, 0.0, -jnp.inf))
        moved = he.reset_where_done(jax.vmap(he.step)(state, action))
        return he.select_games(t >= n_moves, state, moved), None

    keys = jax.random.split(move_key, cells)
    return jax.lax.scan(move, envs, (jnp.arange(cells), keys))[0]


class Actor(NamedTuple):
    """The carry of the self-play scan: frozen params, the envs they play."""

    params: Any
    envs: he.HexState


class Played(NamedTuple):
    """One self-play move in every env: the sample, the root value, the ply after the move."""

    transition: Transition
    root_value: jax.Array  # [n_envs]
    ply: jax.Array  # [n_envs]
    newton_unconverged: jax.Array  # roots whose π̄ fixed Newton steps left short (SearchOutput)


class Learner(NamedTuple):
    """The carry of the learner scan."""

    params: Any
    opt_state: optax.OptState


class Losses(NamedTuple):
    total: jax.Array
    policy: jax.Array
    value: jax.Array


class JonesState(NamedTuple):
    """The carry of the jones schedule's scan: a move then a learner step from the window."""

    params: Any
    opt_state: optax.OptState
    envs: he.HexState
    window: Window


class JonesStep(NamedTuple):
    losses: Losses
    played: Played


def _metrics(losses: Losses, played: Played) -> dict:
    done, plies = played.transition.done, played.ply
    n_games = jnp.maximum(done.sum(), 1)
    return {
        "loss/total": losses.total.mean(),
        "loss/policy": losses.policy.mean(),
        "loss/value": losses.value.mean(),
        "selfplay/games_finished": done.sum(),
        "selfplay/game_length": jnp.sum(jnp.where(done, plies, 0)) / n_games,
        "selfplay/black_win_rate": jnp.sum(done & (plies % 2 == 1)) / n_games,
        "selfplay/root_value": played.root_value.mean(),
        # searches of the call whose training target the fixed Newton steps left short of the
        # stopping rule (search.loops=static; 0 otherwise): nonzero means static ≠ dynamic
        "search/newton_unconverged_roots": played.newton_unconverged.sum(),
    }


def donate_carry(iteration):
    """`jax.jit` with the carry's buffers donated to the result (the loop never reads a carry
    twice), off CPU only: XLA's CPU backend cannot reuse donated buffers and warns."""
    donate = () if jax.default_backend() == "cpu" else (0,)
    return jax.jit(iteration, donate_argnums=donate)


def make_iteration(cfg: Config, optimizer: optax.GradientTransformation):
    """One jitted host call: `steps_per_call(cfg)` self-play moves in every env and the learner
    steps of `cfg.train.schedule` (rollout: after the moves; jones: one after each move)."""
    size = cfg.board.size
    net = network.HexNet(cfg.model.width, cfg.model.depth)
    search = make_search_fn(net.apply, cfg.search, size)
    n_samples = cfg.train.n_envs * cfg.train.rollout_steps
    n_minibatches = n_samples // cfg.train.batch_size

    def selfplay_step(actor: Actor, key) -> tuple[Actor, Played]:
        out = search(actor.params, key, actor.envs, explore=True)
        obs = jax.vmap(he.observe)(actor.envs)
        moved = jax.vmap(he.step)(actor.envs, out.action)
        transition = Transition(obs, out.policy, moved.reward, moved.terminated)
        return Actor(actor.params, he.reset_where_done(moved)), Played(
            transition, out.value, moved.ply, out.newton_unconverged
        )

    def learner_step(learner: Learner, batch) -> tuple[Learner, Losses]:
        grad_fn = jax.value_and_grad(loss_fn, has_aux=True)
        (loss, (policy_loss, value_loss)), grads = grad_fn(learner.params, net.apply, *batch)
        updates, opt_state = optimizer.update(grads, learner.opt_state, learner.params)
        params = optax.apply_updates(learner.params, updates)
        return Learner(params, opt_state), Losses(loss, policy_loss, value_loss)

    def jones_step(state: JonesState, key) -> tuple[JonesState, JonesStep]:
        play_key, sample_key = jax.random.split(key)
        actor, played = selfplay_step(Actor(state.params, state.envs), play_key)
        window = window_push(state.window, played.transition)
        _, bootstrap = net.apply(state.params, jax.vmap(he.observe)(actor.envs))  # newest move
        obs, policy, targets, _, _ = window_sample(
            window, bootstrap, sample_key, cfg.train.batch_size
        )
        learner, losses = learner_step(
            Learner(state.params, state.opt_state), (obs, policy, targets)
        )
        state = JonesState(learner.params, learner.opt_state, actor.envs, window)
        return state, JonesStep(losses, played)

    @donate_carry
    def jones_iteration(carry: TrainCarry) -> tuple[TrainCarry, dict]:
        key, play_key = jax.random.split(carry.key)
        step_keys = jax.random.split(play_key, steps_per_call(cfg))
        state = JonesState(carry.params, carry.opt_state, carry.envs, carry.window)
        state, steps = jax.lax.scan(jones_step, state, step_keys)
        carry = TrainCarry(state.params, state.opt_state, state.envs, key, state.window)
        return carry, _metrics(steps.losses, steps.played)

    @donate_carry
    def iteration(carry: TrainCarry) -> tuple[TrainCarry, dict]:
        key, play_key, shuffle_key = jax.random.split(carry.key, 3)
        step_keys = jax.random.split(play_key, cfg.train.rollout_steps)
        actor, played = jax.lax.scan(selfplay_step, Actor(carry.params, carry.envs), step_keys)
        traj = played.transition
        _, bootstrap = net.apply(carry.params, jax.vmap(he.observe)(actor.envs))
        targets = value_targets(traj.reward, traj.done, bootstrap)

        flat = lambda x: x.reshape((n_samples,) + x.shape[2:])
        order = jax.random.permutation(shuffle_key, n_samples)
        batches = jax.tree.map(
            lambda x: flat(x)[order].reshape((n_minibatches, -1) + x.shape[2:]),
            (traj.obs, traj.policy, targets),
        )
        learner, losses = jax.lax.scan(
            learner_step, Learner(carry.params, carry.opt_state), batches
        )
        carry = TrainCarry(learner.params, learner.opt_state, actor.envs, key)
        return carry, _metrics(losses, played)

    return jones_iteration if cfg.train.schedule == "jones" else iteration


def init_carry(cfg: Config, optimizer) -> TrainCarry:
    key = jax.random.PRNGKey(cfg.train.seed)
    init_key, warmup_key, key = jax.random.split(key, 3)
    params = network.init_params(init_key, cfg.board.size, cfg.model.width, cfg.model.depth)
    envs = jax.vmap(lambda _: he.init(cfg.board.size))(jnp.arange(cfg.train.n_envs))
    envs = jax.jit(random_warmup)(envs, warmup_key)
    window = None
    if cfg.train.schedule == "jones":
        window = window_init(cfg.train.rollout_steps, cfg.train.n_envs, cfg.board.size)
    return TrainCarry(params, optimizer.init(params), envs, key, window)


def flops_per_sample(cfg: Config) -> tuple[float, float]:
    """(Jones, standard) train FLOPs per self-play sample (spec §4). Standard: the search, the
    learner (rollout: each sample once; jones: batch_size per n_envs moves) and the bootstrap
    value forwards (rollout: one per env per window; jones: one per env per move)."""
    size, width, depth = cfg.board.size, cfg.model.width, cfg.model.depth
    jones_flops = cfg.search.nodes * network.forward_flops(size, width, depth, "jones")
    forward = network.forward_flops(size, width, depth, "standard")
    if cfg.train.schedule == "jones":
        trained = cfg.train.batch_size / cfg.train.n_envs  # trained samples per self-play sample
        bootstrap = forward
    else:
        trained = 1.0
        bootstrap = forward / cfg.train.rollout_steps
    forwards = cfg.search.nodes + jones.LEARNER_FORWARD_EQUIVALENTS * trained
    return float(jones_flops), float(forwards * forward + bootstrap)
