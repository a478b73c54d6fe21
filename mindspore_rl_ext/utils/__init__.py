"""mindspore_rl_ext.utils"""
