"""Install mindspore_rl_ext: offline RL (IQL and its family) on MindSpore."""
from setuptools import find_packages, setup

setup(
    name="mindspore_rl_ext",
    version="0.1.0",
    description="Offline reinforcement learning for MindSpore: IQL and its family, "
    "MindSpore-Reinforcement-style runtime, Minari/D4RL datasets.",
    python_requires=">=3.10",
    packages=find_packages(include=["mindspore_rl_ext", "mindspore_rl_ext.*"]),
    include_package_data=True,
    package_data={"mindspore_rl_ext": ["**/*.yaml", "**/*.npz", "**/*.json", "**/*.ckpt"]},
    install_requires=[
        "mindspore==2.10.0",
        "numpy>=2.0",
        "gymnasium[mujoco]==1.4.0",
        "mujoco>=3.2",
        "minari==0.5.4",
        "h5py>=3.8",
        "PyYAML>=6.0",
        "tqdm>=4.60",
    ],
    extras_require={
        "test": ["pytest>=7", "pytest-xdist>=3.5", "hypothesis>=6", "matplotlib>=3.7", "ray==2.40.0",
                 "tensorboardX>=2.6", "gymnasium-robotics>=1.4.2"],
        # python -m mindspore_rl_ext.sweep (Ray) and its report (learning-curve PNGs)
        "sweep": ["ray==2.40.0", "matplotlib>=3.7"],
        # trainer_params.tensorboard / sweep --tensorboard: TensorBoard event files
        "tensorboard": ["tensorboardX>=2.6"],
        # PointMaze datasets and evaluation envs (mindspore_rl_ext.data.pointmaze)
        "pointmaze": ["gymnasium-robotics>=1.4.2"],
        # PNG plots of the 2-D bandit toy (example/diffusion_ql/bandit_toy.py); optional
        "plots": ["matplotlib>=3.7"],
    },
)
