"""factory-boy factories for accounts. Role users are put in their role group, as `user_create` does."""

import factory
from django.contrib.auth.models import Group

from accounts.models import AgentProfile, CustomerProfile, User
from insurance.core.roles import STAFF_ROLES, Role

TEST_PASSWORD = "correct-horse-battery-staple"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda user: f"{user.username}@example.com")
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    password = factory.django.Password(TEST_PASSWORD)

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        """`role=` puts the user in that role's group (and on the staff for staff roles)."""
        role = kwargs.pop("role", None)
        if role in STAFF_ROLES:
            kwargs["is_staff"] = True
        user = super()._create(model_class, *args, **kwargs)
        if role:
            user.groups.add(Group.objects.get(name=role))
        return user


class AgentProfileFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = AgentProfile

    user = factory.SubFactory(UserFactory, role=Role.AGENT)
    agency = factory.Faker("company")
    licence_number = factory.Sequence(lambda n: f"LIC-{n:06d}")
    phone = factory.Faker("phone_number")


class CustomerProfileFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CustomerProfile

    user = factory.SubFactory(UserFactory, role=Role.CUSTOMER)
    agent = factory.SubFactory(AgentProfileFactory)
    phone = factory.Faker("phone_number")
    date_of_birth = factory.Faker("date_of_birth", minimum_age=18, maximum_age=90)
    address_line1 = factory.Faker("street_address")
    city = factory.Faker("city")
    postal_code = factory.Faker("postcode")
    region = factory.Faker("county", locale="en_GB")
    country = "GB"
