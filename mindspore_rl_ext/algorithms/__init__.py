"""mindspore_rl_ext.algorithms"""
