from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, PasswordField, SelectField, StringField
from wtforms.validators import DataRequired, Email, EqualTo, Length

from ..common.forms import choices
from .passwords import MIN_PASSWORD_LENGTH
from .permissions import ROLE_LABELS


class LoginForm(FlaskForm):
    email = EmailField("E-mail", validators=[DataRequired(), Length(max=254)])
    password = PasswordField("Password", validators=[DataRequired()])
    remember = BooleanField("Keep me signed in on this computer")


class ChangePasswordForm(FlaskForm):
    current_password = PasswordField("Current password", validators=[DataRequired()])
    password = PasswordField(
        "New password",
        validators=[
            DataRequired(),
            Length(min=MIN_PASSWORD_LENGTH, message="Use at least %(min)d characters."),
        ],
    )
    confirm = PasswordField(
        "New password again",
        validators=[DataRequired(), EqualTo("password", message="The two do not match.")],
    )


def role_choices():
    return choices((role.value, label) for role, label in ROLE_LABELS.items())


class UserCreateForm(FlaskForm):
    email = EmailField("E-mail", validators=[DataRequired(), Email(), Length(max=254)])
    full_name = StringField("Full name", validators=[DataRequired(), Length(max=120)])
    role = SelectField("Role", validators=[DataRequired()])
    password = PasswordField(
        "Initial password",
        validators=[
            DataRequired(),
            Length(min=MIN_PASSWORD_LENGTH, message="Use at least %(min)d characters."),
        ],
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.role.choices = role_choices()


class UserEditForm(FlaskForm):
    full_name = StringField("Full name", validators=[DataRequired(), Length(max=120)])
    role = SelectField("Role", validators=[DataRequired()])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.role.choices = role_choices()


class SetPasswordForm(FlaskForm):
    password = PasswordField(
        "New password",
        validators=[
            DataRequired(),
            Length(min=MIN_PASSWORD_LENGTH, message="Use at least %(min)d characters."),
        ],
    )
