package io.splitinfer.controller.env;

/** A discrete-action episodic environment, as the RL algorithms see it (gym-style). */
public interface Env {
  /** Starts a new episode; returns the first observation. */
  double[] reset();

  /** Applies action index {@code action}; returns the next observation, reward and done flag. */
  Step step(int action);

  int observationSize();

  int numActions();

  /** The outcome of one step. */
  record Step(double[] observation, double reward, boolean done) {}
}
