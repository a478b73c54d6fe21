"""mindspore_rl_ext.envs"""
